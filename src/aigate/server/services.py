"""What a running server holds: settings, database, writer, policy, signing keys, clock.

Built once per process by :func:`open_services`; routes reach it through ``request.app.state``.
``open_services`` fails with ConfigError (a message and the fix) on a bad policy, a database whose
migrations are behind, or a missing signing key, so ``serve`` can refuse to start cleanly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aigate.errors import ConfigError
from aigate.server import db as dbmod
from aigate.server.gateway_authz import GatewayState, flush_usage
from aigate.server.oidc import CALLBACK_PATH, ENV_CLIENT_SECRET, OidcClient, OidcConfig
from aigate.server.policy import Policy, PolicyError, load_policy
from aigate.server.ratelimit import Limits
from aigate.server.settings import Settings
from aigate.server.signing import KeyRing
from aigate.server.writer import Writer

log = logging.getLogger("aigate.server.policy")
LAST_GOOD = "policy.last-good.toml"  # the last policy that loaded, kept by policy_reload for new workers


@dataclass
class Services:
    """What a running server holds, built once per worker by :func:`open_services`: settings, the read
    database, the writer thread, the policy, the signing keys, the gateways' state, and the clock (epoch
    seconds; tests move it)."""
    settings: Settings
    db: dbmod.Database
    writer: Writer
    policy: Policy
    keys: KeyRing
    gateway: GatewayState  # enforced mode: the gateways' caches and usage counts
    clock: Callable[[], float] = time.time
    limits: Limits = field(default_factory=Limits)
    oidc: OidcClient | None = None  # None: no SSO (`serve` without --oidc-issuer)

    def close(self) -> None:
        """Write the pending usage counts, stop the writer thread and close the database pools."""
        flush_usage(self.gateway, self.writer.engine)
        self.writer.close()
        self.db.close()


def read_policy(settings: Settings, *, last_good: bool = False) -> Policy:
    """The policy, or ConfigError saying what is wrong with it and where. With ``last_good`` (a
    worker process of a running server), a bad file falls back to the last policy that loaded
    (:mod:`aigate.server.policy_reload`), so a worker started after a bad edit keeps serving."""
    try:
        return load_policy(settings.policy_path)
    except PolicyError as err:
        kept = settings.data_dir / LAST_GOOD
        if last_good and kept.is_file():
            log.warning("refusing the policy %s (%s); serving the last one that loaded", err.path,
                        "; ".join(err.problems))
            return load_policy(kept)
        raise ConfigError(f"bad policy {err.path}: " + "; ".join(err.problems),
                          f"fix it, then check with `aigate-server policy check {err.path}`") from err


def open_services(settings: Settings, clock: Callable[[], float] = time.time, *,
                  last_good_policy: bool = False) -> Services:
    """Check database, policy and signing key, in that order (an uninitialized data dir is named
    as such first), and start the writer. ``last_good_policy``: see :func:`read_policy`."""
    database = dbmod.Database(settings.db_url)
    try:
        dbmod.check_current(database.engine)
        policy = read_policy(settings, last_good=last_good_policy)
        keys = KeyRing(settings.data_dir, policy.token_ttl)
        oidc = oidc_client(settings)
    except Exception:
        database.close()
        raise
    writer = Writer(dbmod.make_engine(settings.db_url, writer=True, pool_size=1), clock)
    return Services(settings, database, writer, policy, keys, GatewayState(settings.data_dir), clock,
                    limits=Limits(clock), oidc=oidc)


def oidc_client(settings: Settings) -> OidcClient | None:
    """The OpenID provider ``serve`` was given, or None; ConfigError when its client secret is missing."""
    config = OidcConfig.from_env()
    if config is None:
        return None
    if not config.client_secret:
        raise ConfigError(f"--oidc-issuer is set but {ENV_CLIENT_SECRET} is not",
                          f"export {ENV_CLIENT_SECRET} with the client secret the OpenID provider issued")
    return OidcClient(config, settings.public_url + CALLBACK_PATH)
