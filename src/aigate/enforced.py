"""The laptop's side of enforced mode (policy ``key_source = "gateway"``); stdlib only, warm path.

Under enforced mode no vendor key is on the laptop: the tool's key callback prints the approval token
itself, the tool sends it to the policy's ``base_url`` (the gateway), and the gateway asks the server
whether it is valid and live before it puts the vendor key on the call (docs/enforced-mode.md). The
token a callback prints must outlive the tool's use of it, so the tool is told to call back every
half token lifetime, and a cached token with less than that left is renewed first.
"""

from __future__ import annotations

from aigate.constants import CLAIM_BASE_URL, CLAIM_KEY_SOURCE, KEY_SOURCE_GATEWAY
from aigate.tokencache import CachedToken


def held_by_gateway(token: CachedToken) -> bool:
    """True when the (cached, verified) approval token says the vendor key is held by a gateway."""
    return bool(token.claims.get(CLAIM_KEY_SOURCE) == KEY_SOURCE_GATEWAY)


def refresh_seconds(token: CachedToken) -> int:
    """How often the tool must call back for a fresh credential: half the token's lifetime."""
    return max(1, int(token.lifetime_seconds) // 2)


def needs_renewal(token: CachedToken, now: float) -> bool:
    """True when ``token`` would expire before the tool calls back again."""
    return bool(token.expires_at - now < refresh_seconds(token))


def describe(token: CachedToken) -> str:
    """The ``--dry-run`` / status line for enforced mode (no secret)."""
    where = token.claims.get(CLAIM_BASE_URL) or "the policy's base_url"
    return f"key: held by the gateway at {where}; the tool sends its approval token (no key on this computer)"
