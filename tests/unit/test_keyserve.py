"""The session's key server: the key to the tool's callbacks, nobody else's scope."""

import pytest

from aigate import keyserve, keystore

pytestmark = pytest.mark.skipif(not keyserve.SUPPORTED, reason="abstract Unix sockets are Linux only")


@pytest.fixture
def server():
    store = keystore.MemoryKeyStore({keystore.key_entry("anthropic"): "sk-ant-served-0123456789"})
    running = keyserve.KeyServer("anthropic", lambda: store, keystore.key_entry("anthropic"))
    running.start()
    yield running
    running.close()


def test_the_sessions_scope_is_served(server):
    assert keyserve.ask(server.address, "anthropic") == (keyserve.OK, "sk-ant-served-0123456789")


def test_another_scope_is_refused(server):
    code, message = keyserve.ask(server.address, "openai")
    assert code == keyserve.REFUSED and "anthropic" in message


def test_a_missing_key_is_an_error_not_an_empty_key():
    running = keyserve.KeyServer("openai", lambda: keystore.MemoryKeyStore(), keystore.key_entry("openai"))
    running.start()
    try:
        reply = keyserve.ask(running.address, "openai")
        assert reply == (keyserve.NO_KEY, "no API key is stored for the scope 'openai'")
    finally:
        running.close()


def test_a_closed_session_answers_nothing(server):
    server.close()
    with pytest.raises(OSError):
        keyserve.ask(server.address, "anthropic")
