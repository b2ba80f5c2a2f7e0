"""How this copy of aigate was installed, to name the command that adds a package to it; stdlib only.

pipx and ``uv tool`` give each application its own virtual environment, so ``pip install X`` in the
user's shell does not reach aigate: the fix must be said in the installer's own words
(``pipx inject aigate X``, ``uv tool install --with X ...``). Detected from ``sys.prefix``: pipx keeps
its environments under ``.../pipx/venvs/NAME``, uv under ``.../uv/tools/NAME``.
"""

from __future__ import annotations

import sys

PIPX, UV_TOOL, PIP = "pipx", "uv tool", "pip"


def installer(prefix: str | None = None) -> str:
    """``"pipx"``, ``"uv tool"`` or ``"pip"`` (anything else: a virtualenv, a system package)."""
    where = (prefix or sys.prefix).replace("\\", "/")
    if "/pipx/venvs/" in where:
        return PIPX
    if "/uv/tools/" in where:
        return UV_TOOL
    return PIP


def add_package(package: str, prefix: str | None = None) -> str:
    """The command that adds ``package`` to aigate's own environment."""
    kind = installer(prefix)
    if kind == PIPX:
        return f"pipx inject aigate {package}"
    if kind == UV_TOOL:
        return f"uv tool install --force --with {package} aigate  (your folder or wheel instead of aigate, if you installed from one)"
    return f"{sys.executable if prefix is None else 'python'} -m pip install {package}"


def add_extra(extra: str, prefix: str | None = None) -> str:
    """The command that reinstalls aigate with ``extra`` (``aigate[server]``)."""
    kind = installer(prefix)
    spec = f"'aigate[{extra}]'"
    if kind == PIPX:
        return f"pipx install --force {spec}  (from a clone: pipx install --force '.[{extra}]')"
    if kind == UV_TOOL:
        return f"uv tool install --force {spec}  (from a clone: uv tool install --force '.[{extra}]')"
    return f"pip install {spec}  (from a clone: pip install '.[{extra}]')"
