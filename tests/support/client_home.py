"""A private HOME for client tests: XDG dirs under it, the plain-file keyring explicitly allowed."""

from __future__ import annotations

from pathlib import Path

XDG_DIRS = (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
            ("XDG_STATE_HOME", ".local/state"), ("XDG_DATA_HOME", ".local/share"))


def isolate_client_home(tmp_path: Path, monkeypatch, *, unset: tuple[str, ...] = ()) -> Path:
    """Point HOME and the XDG dirs at ``tmp_path/home``; keyrings.alt's plaintext backend with the
    insecure opt-in; no enforced settings file; no AIGATE_SERVER / AIGATE_DEBUG nor any of ``unset``
    from the caller's environment; warnings print afresh. Returns the home directory."""
    home = tmp_path / "home"
    home.mkdir()
    for var, sub in XDG_DIRS:
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("AIGATE_ALLOW_INSECURE_KEYRING", "1")
    monkeypatch.setenv("AIGATE_SYSTEM_CONFIG", str(tmp_path / "no-enforced-aigate.toml"))
    from aigate import log

    log.forget_warnings()  # warnings print once per process; each test starts afresh
    for var in ("AIGATE_SERVER", "AIGATE_DEBUG", *unset):
        monkeypatch.delenv(var, raising=False)
    return home
