"""Roles from groups, as the policy's ``[roles]`` table says (DESIGN.md "Identity").

```toml
[roles]
approvers = ["eng-leads"]   # groups whose members may approve
admins = ["it-admins"]
```

A user's role is the higher of the role stored for them (``aigate-server users add --role``) and the
role their groups give; so a policy change takes effect at once, and a group an SSO sign-in removed
takes the role with it at the next sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aigate.protocol import Role

ROLE_KEYS = {"approvers": Role.APPROVER, "admins": Role.ADMIN}
_RANK = {Role.USER: 0, Role.APPROVER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Roles:
    approvers: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()

    def role_for(self, groups: list[str], stored: Role = Role.USER) -> Role:
        """The higher of ``stored`` and what ``groups`` give."""
        given = Role.ADMIN if any(g in self.admins for g in groups) else (
            Role.APPROVER if any(g in self.approvers for g in groups) else Role.USER)
        return given if _RANK[given] > _RANK[stored] else stored


def parse_roles(table: Any, report: Any) -> Roles:
    """``[roles]`` from parsed TOML; ``report(key, message)`` collects each mistake (None: the whole table)."""
    if table is None:
        return Roles()
    if not isinstance(table, dict):
        report(None, "roles must be a table: write [roles]")
        return Roles()
    for key in table.keys() - ROLE_KEYS.keys():
        report(key, f"unknown setting {key!r} in [roles] (known: {', '.join(sorted(ROLE_KEYS))})")
    found: dict[str, tuple[str, ...]] = {}
    for key in ROLE_KEYS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(g, str) and g and g != "*" for g in value):
            report(key, f"[roles] {key} must be a list of group names (\"*\" is not allowed here)")
            value = []
        found[key] = tuple(value)
    return Roles(**found)
