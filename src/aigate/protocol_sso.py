"""The wire shapes of SSO login (the device authorization flow, RFC 8628 shape), beside :mod:`aigate.protocol`.

Same conventions as there (stdlib dataclasses that FastAPI publishes in the OpenAPI, :class:`Limit`
on fields); the paths and problem codes are in :mod:`aigate.constants`. A successful poll is answered
with :class:`aigate.protocol.Enrollment`, as an enrollment code is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from aigate.protocol import Limit, ShortText


@dataclass
class DeviceAuthorizationCreate:
    """Start signing this device in with SSO (the device authorization flow, RFC 8628 shape)."""

    device_name: ShortText = ""
    platform: Annotated[str, Limit(max_length=64)] = ""


@dataclass
class DeviceAuthorization:
    """RFC 8628 section 3.2: ``device_code`` is the client's secret for polling; the user confirms
    ``user_code`` (``BCDF-GHJK``) at ``verification_uri`` and signs in there. Seconds throughout."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass
class DeviceTokenRequest:
    """Poll for the device credential; answered with an :class:`Enrollment` once the user confirmed."""

    device_code: Annotated[str, Limit(min_length=1, max_length=128)]
