"""Secrets in the OS keyring: the device credential and the scoped API keys, nowhere else.

One keyring service, ``aigate``; entries ``device:<server URL>`` and ``key:<scope>``. A small index
of the stored scope names (no values) is kept in the state dir so ``aigate run`` can say "no key for
anthropic" without loading the keyring (~100-200 ms, docs/tools.md); the key helper reads the key
itself.

Backend choice (README, "Configuration reference"; docs/tools.md): ``PYTHON_KEYRING_BACKEND`` wins when set;
otherwise the class path recorded at ``login`` / ``keys set`` is loaded directly; only when nothing is
recorded does keyring discover backends through entry points, and the result is recorded. The fail
backend is "no keyring" and the null backend stores nothing: both are always refused (78 with the way
out), before a one-time code is spent; plaintext (keyrings.alt) backends are refused unless
``AIGATE_ALLOW_INSECURE_KEYRING=1``, and storing a secret there warns (once per process; ``status``
shows the backend). Without a Secret Service the messages name the ways out (:mod:`aigate.headless`).
Every write is read back, so a backend that silently drops it is an error, not "stored". ``keyring``
is imported lazily.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from pathlib import Path

from aigate import headless, log, paths
from aigate.constants import is_key_scope
from aigate.errors import ConfigError, UsageError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, NoReturn, Protocol, TypeVar

    T = TypeVar("T")

    class KeyStore(Protocol):
        """What aigate needs of a secret store: :class:`KeyringStore` in production,
        :class:`MemoryKeyStore` in tests. A Protocol for the type checker only, so the warm path does
        not import typing."""

        def get(self, name: str) -> str | None:
            """The secret stored under ``name``, or None."""

        def set(self, name: str, value: str) -> None:
            """Store ``value`` under ``name``; ConfigError when the store cannot keep it."""

        def delete(self, name: str) -> bool:
            """Remove ``name``; False when nothing was stored under it."""

SERVICE = "aigate"
ENV_BACKEND = "PYTHON_KEYRING_BACKEND"
ENV_ALLOW_INSECURE = "AIGATE_ALLOW_INSECURE_KEYRING"
ENV_TIMEOUT = "AIGATE_KEYRING_TIMEOUT"  # seconds one keyring call may take (see timeout_seconds)
DEFAULT_TIMEOUT_SECONDS = 15.0
_NO_BACKEND = "keyring.backends.fail.Keyring"
_STORES_NOTHING = ("keyring.backends.null.",)  # "succeeds" and keeps nothing: never usable
_INSECURE_PREFIXES = ("keyrings.alt.",)
# Backends that talk to a daemon on the D-Bus session bus (Linux): no reachable bus, no keyring.
_NEEDS_SESSION_BUS = ("keyring.backends.SecretService.", "keyring.backends.libsecret.", "keyring.backends.kwallet.")


def device_entry(server: str) -> str:
    """The keyring entry name of this device's credential for ``server`` (``device:<URL>``)."""
    return f"device:{server}"


def key_entry(scope: str) -> str:
    """The keyring entry name of the API key of ``scope`` (``key:<scope>``)."""
    return f"key:{scope}"


class MemoryKeyStore:
    """An in-memory :class:`KeyStore` for tests."""

    def __init__(self, items: dict[str, str] | None = None):
        self.items = dict(items or {})

    def get(self, name: str) -> str | None:
        return self.items.get(name)

    def set(self, name: str, value: str) -> None:
        self.items[name] = value

    def delete(self, name: str) -> bool:
        return self.items.pop(name, None) is not None


class KeyringStore:
    """A :class:`KeyStore` on one keyring backend instance, under the ``aigate`` service."""

    def __init__(self, backend: Any, description: str):
        self.backend = backend  # a keyring backend instance (keyring.backend.KeyringBackend)
        self.description = description  # class path, for `status`

    def get(self, name: str) -> str | None:
        value: str | None = self._call("read", lambda: self.backend.get_password(SERVICE, name))
        return value

    def set(self, name: str, value: str) -> None:
        if is_insecure(self.description):  # said when a secret goes there, once per process
            log.warn(f"storing in the plain-file keyring {self.description} "
                     f"({ENV_ALLOW_INSECURE}=1: CI and demos only)")
        self._call("write", lambda: self.backend.set_password(SERVICE, name, value))
        if self.get(name) != value:
            raise ConfigError(
                f"the keyring ({self.description}) did not keep an aigate entry: it was written but "
                "reads back differently",
                hint=f"use a working OS keyring (GNOME Keyring / KWallet), or set {ENV_BACKEND} to one",
            )

    def delete(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            self._call("delete", lambda: self.backend.delete_password(SERVICE, name))
        except ConfigError as err:
            if isinstance(err.__cause__, PasswordDeleteError):
                return False
            raise
        return True

    def _call(self, verb: str, action: Callable[[], T]) -> T:
        """``action()`` bounded (:func:`bounded`); a Secret Service that cannot open its connection
        (keyring's ``InitError``, seen when many aigate processes connect at the same instant, as an IT
        provisioning script's parallel ``keys set`` do) is tried again, briefly, within the same bound."""
        import time

        deadline = time.monotonic() + timeout_seconds()
        pause = 0.1
        while True:
            try:
                return bounded(f"the keyring ({self.description})", action)
            except ConfigError:
                raise
            except Exception as err:  # noqa: BLE001 - backends raise anything (dbus, locked); re-raised as 78
                if _transient(err) and time.monotonic() + pause < deadline:
                    log.debug(f"the keyring could not {verb} yet ({type(err).__name__}); trying again")
                    time.sleep(pause)
                    pause = min(pause * 2, 1.0)
                    continue
                self._refuse(verb, err)

    def _refuse(self, verb: str, err: Exception) -> NoReturn:
        raise ConfigError(
            f"the keyring ({self.description}) could not {verb} an aigate entry: {type(err).__name__}"
            + headless.because(os.environ),
            hint=headless.failed_hint(os.environ, allow_var=ENV_ALLOW_INSECURE),
        ) from err


def _transient(err: Exception) -> bool:
    """keyring's InitError: the backend could not open its connection this time (a busy D-Bus
    service); a locked collection or a refused write is not transient."""
    from keyring.errors import InitError

    return isinstance(err, InitError)


def open_keystore(*, env: Mapping[str, str] | None = None, state: Path | None = None) -> KeyringStore:
    """The keyring backend per the rules above, checked; records what it resolved. Raises ConfigError."""
    env = os.environ if env is None else env
    record = (state or paths.state_dir()) / paths.keyring_backend_file().name
    class_path = env.get(ENV_BACKEND) or _recorded(record)
    try:
        backend = bounded(f"the keyring backend {class_path or '(discovering)'}",
                          lambda: _load(class_path) if class_path else _discover())
    except ConfigError:
        if env.get(ENV_BACKEND):
            raise
        log.debug(f"the recorded keyring backend {class_path} no longer loads; looking again")
        backend = bounded("the keyring (discovering)", _discover)  # e.g. the recorded backend's package is gone
    resolved = f"{type(backend).__module__}.{type(backend).__qualname__}"
    _check_safe(resolved, env)
    if not env.get(ENV_BACKEND) and resolved != class_path:
        try:
            paths.write_private(record, resolved.encode())
        except ConfigError as err:  # only a record: keyring is asked again next time
            log.warn(f"{err.message}; the keyring backend is looked up again next time")
    log.debug(f"keyring backend {resolved}")
    return KeyringStore(backend, resolved)


def timeout_seconds() -> float:
    """How long one keyring call may take: ``AIGATE_KEYRING_TIMEOUT`` seconds, else 15. Long enough to
    type a password into an unlock prompt, short enough that a hung keyring is an error, not a hang."""
    try:
        return max(0.1, float(os.environ.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT_SECONDS))
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS


def bounded(what: str, action: Callable[[], T]) -> T:
    """``action()`` (a call into the keyring) run in a daemon thread and waited for at most
    :func:`timeout_seconds`; its result or its exception. ConfigError (78) naming ``what`` when it does
    not answer in time: a locked collection whose unlock prompt nobody sees, or a stuck D-Bus service,
    would otherwise hang aigate for ever (the thread is abandoned: a D-Bus call cannot be interrupted)."""
    import threading

    box: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            box.append((True, action()))
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread as is
            box.append((False, err))

    worker = threading.Thread(target=target, name="aigate-keyring", daemon=True)
    worker.start()
    worker.join(timeout_seconds())
    if not box:
        raise ConfigError(
            f"{what} did not answer within {timeout_seconds():g} s",
            hint="unlock your keyring (an unlock prompt may be waiting on your desktop) or restart its "
                 f"service (gnome-keyring-daemon / kwalletd); `aigate --debug ...` shows more; {ENV_TIMEOUT} "
                 "sets the wait",
        )
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def check_recorded_backend(*, env: Mapping[str, str], state: Path | None = None) -> None:
    """The warm path's keyring check without loading keyring: refuse (or warn about) an insecure or
    missing backend by its recorded class path, as :func:`open_keystore` would."""
    record = (state or paths.state_dir()) / paths.keyring_backend_file().name
    class_path = env.get(ENV_BACKEND) or _recorded(record)
    if class_path:
        _check_safe(class_path, env)
        if class_path.startswith(_NEEDS_SESSION_BUS) and not headless.session_bus_reachable(env):
            raise ConfigError(
                f"the keyring ({class_path}) cannot answer: {headless.why(env)}",
                hint=headless.fixes(env, allow_var=ENV_ALLOW_INSECURE),
            )


def _recorded(record: Path) -> str | None:
    try:
        return record.read_text("utf-8").strip() or None
    except OSError:
        return None


def _load(class_path: str) -> Any:
    from keyring.core import load_keyring

    try:
        return load_keyring(class_path)
    except Exception as err:
        raise ConfigError(
            f"cannot load the keyring backend {class_path}: {type(err).__name__}: {err}",
            hint=f"set {ENV_BACKEND} to a working backend, or unset it",
        ) from err


def _discover() -> Any:
    """keyring's own choice (entry points; slow), narrowed to one backend when it chains several."""
    import keyring

    backend = keyring.get_keyring()
    chained = getattr(backend, "backends", None)
    if chained:
        backend = max(chained, key=lambda b: getattr(b, "priority", 0))
    return backend


def _check_safe(class_path: str, env: Mapping[str, str]) -> None:
    if class_path == _NO_BACKEND:
        raise ConfigError(
            f"no usable OS keyring: {headless.why(env)}; aigate keeps its credentials only in one",
            hint=headless.fixes(env, allow_var=ENV_ALLOW_INSECURE),
        )
    if class_path.startswith(_STORES_NOTHING):
        raise ConfigError(
            f"refusing the keyring backend {class_path}: it stores nothing ({ENV_ALLOW_INSECURE} "
            "allows plain-file backends only)",
            hint="use the OS keyring, or for CI and demos keyrings.alt's plaintext backend with "
            f"{ENV_ALLOW_INSECURE}=1",
        )
    if is_insecure(class_path) and env.get(ENV_ALLOW_INSECURE) != "1":
        raise ConfigError(
            f"refusing the keyring backend {class_path}: it keeps secrets in a plain file",
            hint=headless.plain_file_hint(env, allow_var=ENV_ALLOW_INSECURE),
        )


def is_insecure(class_path: str) -> bool:
    """A backend that keeps secrets in a plain file (allowed only with AIGATE_ALLOW_INSECURE_KEYRING=1)."""
    return class_path.startswith(_INSECURE_PREFIXES)


# --- the scope index (names only) -----------------------------------------------------------------


def stored_scopes(index: Path | None = None, *, strict: bool = True) -> list[str]:
    """Scope names recorded by ``keys set`` (no values). Cheap: no keyring. A missing file is no
    scopes; a corrupt one is ConfigError (78) naming it and the fix (``strict=False``: no scopes, for
    :func:`record_scope`, which rewrites it)."""
    index = index or paths.key_index_file()
    try:
        text = index.read_text("utf-8")
    except FileNotFoundError:
        return []
    except OSError as err:
        if not strict:
            return []
        raise _corrupt_index(index, err.strerror or type(err).__name__) from err
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        if not strict:
            return []
        raise _corrupt_index(index, "not a JSON list of scope names")
    return names


def _corrupt_index(index: Path, why: str) -> ConfigError:
    return ConfigError(f"cannot read {index} ({why})",
                       hint="run `aigate keys set SCOPE` again for each of your scopes, or delete the file")


def record_scope(scope: str, present: bool, index: Path | None = None) -> None:
    """Add (``present``) or remove ``scope`` in the names-only index (``keys.json`` in the state dir, mode 0600);
    a corrupt index is rewritten. Under a lock (:mod:`aigate.locking`): parallel ``keys set`` runs (an IT
    provisioning script) all stay listed; ConfigError (78) when another process holds it too long."""
    from aigate.locking import FileLock

    index = index or paths.key_index_file()
    with FileLock(index):
        names = set(stored_scopes(index, strict=False))  # a corrupt index is replaced: this is its fix
        names = names | {scope} if present else names - {scope}
        paths.write_private(index, json.dumps(sorted(names)).encode())


StoredKey = namedtuple("StoredKey", "scope masked")
"""A scope of the index and its key masked (:func:`mask`), or ``masked=None`` when the keyring has none."""


def require_scope(scope: str) -> str:
    """``scope`` when it is a key scope name (:func:`aigate.constants.is_key_scope`), else UsageError (2)."""
    if not is_key_scope(scope):
        raise UsageError(f"invalid key scope {scope!r}: use letters, digits, '.', '_' and '-' (like anthropic)")
    return scope


def store_key(store: KeyStore, scope: str, value: str, index: Path | None = None) -> str:
    """Keep ``value`` (surrounding whitespace dropped) as the key of ``scope`` and record the scope in
    the index; the key masked. UsageError (2) for an empty key or one with whitespace inside."""
    value = value.strip()
    if not value:
        raise UsageError("the key is empty; nothing was stored")
    if any(c.isspace() for c in value):
        raise UsageError("the key contains whitespace; nothing was stored")
    store.set(key_entry(require_scope(scope)), value)
    record_scope(scope, True, index)
    return mask(value)


def delete_key(store: KeyStore, scope: str, index: Path | None = None) -> bool:
    """Remove the key of ``scope`` from the keyring and the index; whether the keyring had one."""
    removed = store.delete(key_entry(scope))
    record_scope(scope, False, index)
    return removed


def stored_keys(store: KeyStore | None, index: Path | None = None) -> list[StoredKey]:
    """Each scope of the index with its key masked, read from ``store`` (None: none read)."""
    keys = []
    for scope in stored_scopes(index):
        value = store.get(key_entry(scope)) if store else None
        keys.append(StoredKey(scope, mask(value) if value else None))
    return keys


def mask(value: str) -> str:
    """At most the last 4 characters of a secret, and only when it is long enough to spare them."""
    return f"…{value[-4:]}" if len(value) >= 16 else "…"
