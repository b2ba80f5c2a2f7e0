"""SSO login of this device: the device authorization flow the server brokers (RFC 8628 shape).

``device_login`` asks the server for a device authorization, hands the user code and verification
URL to ``show`` (the CLI prints them, opens a browser where there is one), then polls every
``interval`` seconds until the person confirmed in the browser: ``authorization-pending`` polls on,
``slow-down`` adds 5 seconds to the interval (RFC 8628 section 3.5), ``access-denied`` is
NotApproved (77), an expired code is AigateError (1). A server that cannot be reached for a moment
is polled again until the code expires. No typer, no rich: ``wait`` is the CLI's countdown.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable

from aigate import account, config, enrollment, keystore, protocol, protocol_sso
from aigate.errors import AigateError, DeviceFlowAnswer, NotApproved, ServerUnreachable

SLOW_DOWN_STEP_SECONDS = 5

Show = Callable[[protocol_sso.DeviceAuthorization], None]
Wait = Callable[[float, float], None]  # (seconds to wait, monotonic deadline of the code)


def device_login(server: str, *, store: keystore.KeyStore, anonymous: account.ClientFactory, cfg: config.Config,
                 show: Show, wait: Wait, clock: Callable[[], float] = time.monotonic) -> enrollment.EnrollmentRecord:
    """Enroll this device by SSO; keep the credential in ``store`` and remember the server.

    Raises SsoNotConfigured (78) before showing anything when the server has no SSO.
    """
    client = anonymous(server)
    grant = client.start_device_authorization(device_name=socket.gethostname(), platform=platform.platform())
    deadline = clock() + grant.expires_in
    interval = max(1, grant.interval)
    show(grant)
    last_outage: AigateError | None = None
    while (remaining := deadline - clock()) > 0:
        wait(min(interval, remaining), deadline)
        try:
            answer = client.poll_device_token(grant.device_code)
        except ServerUnreachable as err:
            last_outage = err
            continue
        except DeviceFlowAnswer as err:
            if err.code == protocol.ProblemCode.AUTHORIZATION_PENDING:
                continue
            if err.code == protocol.ProblemCode.SLOW_DOWN:
                interval += SLOW_DOWN_STEP_SECONDS
                continue
            if err.code == protocol.ProblemCode.ACCESS_DENIED:
                raise NotApproved("the sign-in was denied in the browser",
                                  hint=f"aigate login --server {server}") from None
            break
        return account.remember(server, answer, store=store, cfg=cfg)
    if last_outage is not None and deadline - clock() <= 0:
        raise last_outage
    raise AigateError("the sign-in code expired before it was confirmed in the browser",
                      hint=f"aigate login --server {server}")
