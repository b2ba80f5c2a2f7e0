"""``aigate-server init`` and ``serve``: make the data dir and database ready, then serve the API."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from aigate.errors import AigateError, ConfigError
from aigate.server import db as dbmod
from aigate.server.cli_options import DataDirOpt, DbOpt, say
from aigate.server.policy import DEFAULT_POLICY
from aigate.server.preflight import (
    check_paths,
    check_port_free,
    check_sqlite_path,
    is_loopback,
    make_data_dir,
    safe_url,
)
from aigate.server.settings import DEFAULT_HOST, DEFAULT_PORT, Settings

app = typer.Typer()  # init, serve: merged into the top level by server/cli.py


@app.command()
def init(data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Create or upgrade the schema, the signing key and policy.toml (idempotent)."""
    from aigate.server.signing import create_key, read_manifest

    settings = Settings.resolve(data_dir, db)
    make_data_dir(settings.data_dir)
    check_sqlite_path(settings.db_url, must_exist=False)
    engine = dbmod.make_engine(settings.db_url, writer=True, pool_size=1)
    try:
        dbmod.upgrade(engine)
    except AigateError:
        raise
    except Exception as err:
        raise ConfigError(f"cannot migrate the database: {dbmod._one_line(err)}",
                          "check --db / AIGATE_SERVER_DB") from err
    finally:
        engine.dispose()
    say(f"database at migration {dbmod.head_revision()}: {safe_url(settings.db_url)}")
    if read_manifest(settings.data_dir).get("current") is None:
        kid = create_key(settings.data_dir, int(time.time()))
        say(f"created signing key {kid}")
    if not settings.policy_path.exists():
        settings.policy_path.write_text(DEFAULT_POLICY, encoding="utf-8")
        say(f"wrote the default policy to {settings.policy_path} (every tool needs an approver, 8h at most)")
    say(f"ready: aigate-server serve --data-dir {settings.data_dir}")


@app.command()
def serve(
    data_dir: DataDirOpt = None, db: DbOpt = None,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to bind.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port to bind.")] = DEFAULT_PORT,
    policy: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Policy file (default: policy.toml in the data dir).")] = None,
    public_url: Annotated[str | None, typer.Option(
        metavar="URL", help="The URL clients use; the tokens' `iss`.")] = None,
    tls_cert: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS private key (PEM).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, metavar="N", help="Worker processes.")] = 1,
    oidc_issuer: Annotated[str | None, typer.Option(
        metavar="URL",
        help="SSO: the OpenID provider's issuer URL (client secret in AIGATE_SERVER_OIDC_CLIENT_SECRET).")] = None,
    oidc_client_id: Annotated[str | None, typer.Option(
        metavar="ID", help="SSO: this server's client id at the provider.")] = None,
    oidc_groups_claim: Annotated[str, typer.Option(
        metavar="CLAIM", help="SSO: the ID token claim that lists the user's groups.")]
        = "groups",
) -> None:
    """Serve the HTTP API (refuses a bad policy or a database whose migrations are behind)."""
    import uvicorn

    from aigate.server.oidc import sso_environment
    from aigate.server.services import open_services

    if (tls_cert is None) != (tls_key is None):
        raise AigateError("--tls-cert and --tls-key go together", exit_code=2)
    scheme = "https" if tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    settings = Settings.resolve(data_dir, db, policy, public_url or f"{scheme}://{shown}:{port}")
    check_paths(settings)
    os.environ.update(sso_environment(oidc_issuer, oidc_client_id, oidc_groups_claim))
    services = open_services(settings)  # every check now, with a clean message, before binding
    rules = services.policy.rules
    services.close()
    if not rules:
        from aigate.server.policy import NO_RULES_WARNING

        say(f"warning: {settings.policy_path}: {NO_RULES_WARNING}")
    if tls_cert is None and not is_loopback(host):
        say(f"warning: serving on {host} without TLS: enrollment codes, device credentials and approval "
            "tokens cross the network in clear text; use --tls-cert/--tls-key or a TLS proxy")
    check_port_free(host, port)
    os.environ.update(settings.export())
    say(f"aigate-server {settings.public_url} (data dir {settings.data_dir}, policy {settings.policy_path})")
    if oidc_issuer:
        say(f"SSO with {oidc_issuer}; redirect URI to register there: {settings.public_url}/sso/callback")
    from aigate.server.httplimits import BoundedHttpToolsProtocol

    uvicorn.run("aigate.server.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http=BoundedHttpToolsProtocol, access_log=False, log_level="warning",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


