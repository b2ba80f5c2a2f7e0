"""How this copy of aigate was installed, to name the command that adds a package to it; stdlib only.

pipx and ``uv tool`` give each application its own virtual environment, so ``pip install X`` in the
user's shell does not reach aigate: the fix must be said in the installer's own words
(``pipx inject aigate X``, ``uv tool install --with X ...``). Detected from the environment's root
(``sys.prefix``): pipx leaves ``pipx_metadata.json`` there, ``uv tool`` leaves ``uv-receipt.toml``
(wherever ``PIPX_HOME`` / ``UV_TOOL_DIR`` put them).
"""

from __future__ import annotations

import sys

PIPX, UV_TOOL, PIP = "pipx", "uv tool", "pip"


def installer(prefix: str | None = None) -> str:
    """``"pipx"``, ``"uv tool"`` or ``"pip"`` (anything else: a virtualenv, a system package)."""
    import os

    where = prefix or sys.prefix
    if os.path.exists(os.path.join(where, "pipx_metadata.json")):
        return PIPX
    if os.path.exists(os.path.join(where, "uv-receipt.toml")):
        return UV_TOOL
    return PIP


def add_package(package: str) -> str:
    """The command that adds ``package`` to aigate's own environment."""
    kind = installer()
    if kind == PIPX:
        return f"pipx inject aigate {package}"
    if kind == UV_TOOL:
        return (f"uv tool install --force --with {package} aigate  "
                "(your folder or wheel instead of aigate, if you installed from one)")
    return f"{sys.executable} -m pip install {package}"


def add_extra(extra: str) -> str:
    """The command that reinstalls aigate with ``extra`` (``aigate[server]``)."""
    kind = installer()
    spec = f"'aigate[{extra}]'"
    if kind == PIPX:
        return f"pipx install --force {spec}  (from a clone: pipx install --force '.[{extra}]')"
    if kind == UV_TOOL:
        return f"uv tool install --force {spec}  (from a clone: uv tool install --force '.[{extra}]')"
    return f"pip install {spec}  (from a clone: pip install '.[{extra}]')"
