"""Keyring backend choice: recorded once, env wins, insecure or missing backends explicit."""

import sys

import pytest

from aigate import keystore
from aigate.errors import ConfigError, UsageError

PLAIN = "keyrings.alt.file.PlaintextKeyring"


def test_plaintext_backend_is_refused_without_the_opt_in(tmp_path):
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": PLAIN}, state=tmp_path)
    assert "AIGATE_ALLOW_INSECURE_KEYRING=1" in caught.value.hint


def test_plaintext_backend_with_the_opt_in_warns_once_when_a_secret_is_stored_not_when_opened(tmp_path, capsys):
    env = {"PYTHON_KEYRING_BACKEND": PLAIN, "AIGATE_ALLOW_INSECURE_KEYRING": "1"}
    store = keystore.open_keystore(env=env, state=tmp_path)
    keystore.open_keystore(env=env, state=tmp_path).get(keystore.key_entry("openai"))
    assert capsys.readouterr().err == ""

    store.set(keystore.key_entry("anthropic"), "sk-ant-1234567890abcdef")
    store.set(keystore.key_entry("openai"), "sk-1234567890abcdef")

    assert capsys.readouterr().err.count("plain-file keyring") == 1


def test_no_backend_at_all_is_a_clear_error_with_the_way_out(tmp_path):
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, state=tmp_path)
    assert "no usable OS keyring" in caught.value.message and "Secret Service" in caught.value.hint


HEADLESS = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # and no DBUS_SESSION_BUS_ADDRESS


def test_without_a_session_bus_the_message_says_so_and_how_to_start_a_secret_service(tmp_path):
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env=HEADLESS, state=tmp_path)

    assert "no D-Bus session bus" in caught.value.message
    first = caught.value.hint.splitlines()[0]
    assert "dbus-run-session" in first and "gnome-keyring-daemon --unlock --components=secrets" in first


@pytest.mark.parametrize(("marker", "command"), [
    ("pipx_metadata.json", "pipx inject aigate keyrings.alt"),
    ("uv-receipt.toml", "uv tool install --force --with keyrings.alt aigate"),
])
def test_the_plain_file_way_out_is_said_in_the_installers_own_words(tmp_path, monkeypatch, marker, command):
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / marker).write_text("{}")  # what pipx / uv tool leave in the environment they make
    monkeypatch.setattr("sys.prefix", str(tmp_path / "venv"))
    monkeypatch.setattr("aigate.headless.keyrings_alt_installed", lambda: False)
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env=HEADLESS, state=tmp_path)

    assert f"{command}" in caught.value.hint and "export AIGATE_ALLOW_INSECURE_KEYRING=1" in caught.value.hint


def test_the_plain_file_already_installed_but_not_allowed_names_the_secret_service_first(tmp_path):
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": PLAIN}, state=tmp_path)

    assert "dbus-run-session" in caught.value.hint.splitlines()[0]
    assert "export AIGATE_ALLOW_INSECURE_KEYRING=1" in caught.value.hint.splitlines()[1]


def test_a_discovered_backend_is_recorded_and_loaded_directly_next_time(tmp_path):
    (tmp_path / "keyring-backend").write_text(PLAIN)
    store = keystore.open_keystore(env={"AIGATE_ALLOW_INSECURE_KEYRING": "1"}, state=tmp_path)
    assert store.description == PLAIN


def test_python_keyring_backend_wins_over_the_recorded_one(tmp_path):
    (tmp_path / "keyring-backend").write_text("keyring.backends.fail.Keyring")
    store = keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": PLAIN, "AIGATE_ALLOW_INSECURE_KEYRING": "1"},
                                   state=tmp_path)
    assert store.description == PLAIN


def test_the_warm_check_refuses_a_recorded_insecure_backend_without_loading_keyring(tmp_path):
    (tmp_path / "keyring-backend").write_text(PLAIN)
    with pytest.raises(ConfigError):
        keystore.check_recorded_backend(env={}, state=tmp_path)


def test_keys_round_trip_through_the_real_backend(tmp_path):
    store = keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": PLAIN, "AIGATE_ALLOW_INSECURE_KEYRING": "1"},
                                   state=tmp_path)
    store.set(keystore.key_entry("anthropic"), "sk-ant-1234567890abcdef")
    assert store.get(keystore.key_entry("anthropic")) == "sk-ant-1234567890abcdef"
    assert store.delete(keystore.key_entry("anthropic")) and not store.delete(keystore.key_entry("anthropic"))


def test_mask_shows_at_most_the_last_four_characters():
    assert keystore.mask("sk-ant-1234567890abcdef") == "…cdef"
    assert keystore.mask("short") == "…"


def test_scope_index_holds_names_only(tmp_path):
    index = tmp_path / "keys.json"
    keystore.record_scope("anthropic", True, index)
    keystore.record_scope("openai", True, index)
    keystore.record_scope("openai", False, index)
    assert keystore.stored_scopes(index) == ["anthropic"]


def test_a_recorded_backend_that_no_longer_loads_is_discovered_again(tmp_path):
    (tmp_path / "keyring-backend").write_text("no_such_package.Keyring")
    store = keystore.open_keystore(env={"AIGATE_ALLOW_INSECURE_KEYRING": "1"}, state=tmp_path)
    assert (tmp_path / "keyring-backend").read_text() == store.description != "no_such_package.Keyring"


def test_the_null_backend_is_refused_even_with_the_insecure_opt_in(tmp_path):
    with pytest.raises(ConfigError) as caught:
        keystore.open_keystore(env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
                                    "AIGATE_ALLOW_INSECURE_KEYRING": "1"}, state=tmp_path)
    assert "stores nothing" in caught.value.message


class _Forgetful:
    def set_password(self, service, name, value):
        pass

    def get_password(self, service, name):
        return None


def test_a_write_the_backend_does_not_keep_is_an_error():
    with pytest.raises(ConfigError) as caught:
        keystore.KeyringStore(_Forgetful(), "tests.Forgetful").set("key:anthropic", "sk-1234")
    assert "did not keep" in caught.value.message


def test_a_garbage_scope_index_is_reported_as_corrupt_naming_the_file_and_the_fix(tmp_path):
    (tmp_path / "keys.json").write_text("garbage")
    with pytest.raises(ConfigError) as caught:
        keystore.stored_scopes(tmp_path / "keys.json")
    assert str(tmp_path / "keys.json") in caught.value.message and "aigate keys set" in caught.value.hint


def test_keys_set_replaces_a_garbage_scope_index(tmp_path):
    (tmp_path / "keys.json").write_text("garbage")
    keystore.record_scope("anthropic", True, tmp_path / "keys.json")
    assert keystore.stored_scopes(tmp_path / "keys.json") == ["anthropic"]


def test_a_stored_key_is_listed_masked_with_its_scope(tmp_path):
    store = keystore.MemoryKeyStore()
    masked = keystore.store_key(store, "anthropic", "  sk-ant-0123456789abcdef\n", tmp_path / "keys.json")
    assert masked == "…cdef" and store.get(keystore.key_entry("anthropic")) == "sk-ant-0123456789abcdef"
    assert keystore.stored_keys(store, tmp_path / "keys.json") == [("anthropic", "…cdef")]


def test_a_scope_whose_key_left_the_keyring_is_listed_without_a_mask(tmp_path):
    keystore.record_scope("openai", True, tmp_path / "keys.json")
    assert keystore.stored_keys(keystore.MemoryKeyStore(), tmp_path / "keys.json") == [("openai", None)]


@pytest.mark.parametrize("value", ["", "  ", "sk one"])
def test_an_empty_key_or_one_with_whitespace_is_refused_and_nothing_stored(tmp_path, value):
    store = keystore.MemoryKeyStore()
    with pytest.raises(UsageError):
        keystore.store_key(store, "anthropic", value, tmp_path / "keys.json")
    assert store.get(keystore.key_entry("anthropic")) is None and not (tmp_path / "keys.json").exists()


def test_deleting_a_key_removes_it_from_the_keyring_and_the_index(tmp_path):
    store = keystore.MemoryKeyStore()
    keystore.store_key(store, "anthropic", "sk-ant-0123456789abcdef", tmp_path / "keys.json")
    assert keystore.delete_key(store, "anthropic", tmp_path / "keys.json") is True
    assert keystore.stored_keys(store, tmp_path / "keys.json") == []


def test_a_scope_name_outside_the_pattern_is_a_usage_error():
    with pytest.raises(UsageError):
        keystore.require_scope("../etc")


SECRET_SERVICE = "keyring.backends.SecretService.Keyring"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Secret Service is on D-Bus (Linux)")
@pytest.mark.parametrize("bus", [None, "", "unix:path=/nonexistent/aigate-test/bus",
                                 "unix:path=/nonexistent/a/bus,guid=0123;unix:path=/nonexistent/b/bus"])
def test_the_warm_check_refuses_a_recorded_secret_service_without_a_session_bus_that_exists(tmp_path, bus):
    (tmp_path / "keyring-backend").write_text(SECRET_SERVICE)
    env = {} if bus is None else {"DBUS_SESSION_BUS_ADDRESS": bus}
    with pytest.raises(ConfigError) as caught:
        keystore.check_recorded_backend(env=env, state=tmp_path)
    assert "Secret Service" in caught.value.message and "dbus-run-session" in caught.value.hint


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Secret Service is on D-Bus (Linux)")
@pytest.mark.parametrize("bus", ["unix:path={sock}", "unix:path={sock},guid=0123", "unix:abstract=/tmp/dbus-x"])
def test_the_warm_check_accepts_a_recorded_secret_service_whose_bus_exists(tmp_path, bus):
    import socket

    sock = tmp_path / "bus"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(sock))
        (tmp_path / "keyring-backend").write_text(SECRET_SERVICE)
        keystore.check_recorded_backend(env={"DBUS_SESSION_BUS_ADDRESS": bus.format(sock=sock)}, state=tmp_path)


class BusyThenReady:
    """A backend whose connection fails ``busy`` times (keyring's InitError, as the Secret Service gives
    when many processes connect at once), then works; or a backend that refuses for good."""

    def __init__(self, busy: int, error: type[Exception] | None = None):
        self.busy, self.error, self.items = busy, error, {}

    def _maybe_fail(self):
        from keyring.errors import InitError

        if self.busy > 0:
            self.busy -= 1
            raise (self.error or InitError)("Failed to create the collection")

    def set_password(self, service, name, value):
        self._maybe_fail()
        self.items[name] = value

    def get_password(self, service, name):
        self._maybe_fail()
        return self.items.get(name)


def test_a_secret_service_busy_for_a_moment_is_tried_again_and_the_key_kept():
    store = keystore.KeyringStore(BusyThenReady(busy=3), "keyring.backends.SecretService.Keyring")
    store.set("key:anthropic", "sk-ant-0123456789")
    assert store.get("key:anthropic") == "sk-ant-0123456789"


def test_an_error_that_is_not_a_busy_connection_is_not_tried_again():
    backend = BusyThenReady(busy=1, error=RuntimeError)
    with pytest.raises(ConfigError, match="could not write an aigate entry: RuntimeError"):
        keystore.KeyringStore(backend, "keyring.backends.SecretService.Keyring").set("key:a", "sk-a-0123456789")
    assert backend.busy == 0 and backend.items == {}


def test_a_secret_service_that_stays_busy_is_an_error_within_the_keyring_bound(monkeypatch):
    monkeypatch.setenv(keystore.ENV_TIMEOUT, "0.5")
    backend = BusyThenReady(busy=10**6)
    with pytest.raises(ConfigError, match="could not read an aigate entry: InitError"):
        keystore.KeyringStore(backend, "keyring.backends.SecretService.Keyring").get("key:a")
    assert backend.busy > 10**6 - 10  # tried a few times, then gave up
