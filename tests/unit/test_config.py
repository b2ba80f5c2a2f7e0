"""Layered settings: enforced file > flag > AIGATE_SERVER > user config > default; unsafe files refused."""

import os

import pytest

from aigate import config
from aigate.errors import ConfigError


def load(tmp_path, *, enforced: str | None = None, user: str | None = None, flag=None, env=None):
    system, user_file = tmp_path / "aigate.toml", tmp_path / "config.toml"
    if enforced is not None:
        system.write_text(enforced)
        os.chmod(system, 0o644)
        os.chmod(tmp_path, 0o755)
    if user is not None:
        user_file.write_text(user)
    return config.load_config(flag_server=flag, env=env or {}, system_file=system, user_file=user_file)


def test_user_config_is_used_when_nothing_else_is_set(tmp_path):
    cfg = load(tmp_path, user='server = "https://user.test"\n')
    assert (cfg.server.value, cfg.server.source.split(" ")[0]) == ("https://user.test", "user")


def test_environment_beats_user_config_and_flag_beats_environment(tmp_path):
    env = {"AIGATE_SERVER": "https://env.test"}
    assert load(tmp_path, user='server = "https://u.test"', env=env).server.source == "AIGATE_SERVER"
    assert load(tmp_path, env=env, flag="https://flag.test").server.value == "https://flag.test"


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="an enforced file must be root-owned")


@needs_root
def test_enforced_file_beats_everything(tmp_path):
    cfg = load(tmp_path, enforced='server = "https://it.test"\n', flag="https://flag.test",
               env={"AIGATE_SERVER": "https://env.test"})
    assert cfg.server.value == "https://it.test" and cfg.server.enforced
    assert str(tmp_path / "aigate.toml") in cfg.server.source


def test_enforced_file_writable_by_others_is_refused_naming_it(tmp_path):
    load(tmp_path, enforced='server = "https://it.test"\n')
    os.chmod(tmp_path / "aigate.toml", 0o666)
    with pytest.raises(ConfigError) as caught:
        config.load_config(env={}, system_file=tmp_path / "aigate.toml", user_file=tmp_path / "none.toml")
    assert str(tmp_path / "aigate.toml") in caught.value.message and caught.value.exit_code == 78


def test_enforced_file_owned_by_an_ordinary_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the file to another user")
    load(tmp_path, enforced='server = "https://it.test"\n')
    os.chown(tmp_path / "aigate.toml", 65534, 65534)
    with pytest.raises(ConfigError):
        config.load_config(env={}, system_file=tmp_path / "aigate.toml", user_file=tmp_path / "none.toml")


@needs_root
def test_enforced_tool_paths_are_read(tmp_path):
    cfg = load(tmp_path, enforced='[tools.claude]\npath = "/opt/claude/bin/claude"\n')
    assert cfg.tool_paths == {"claude": "/opt/claude/bin/claude"}


def test_invalid_toml_is_a_config_error_not_a_traceback(tmp_path):
    with pytest.raises(ConfigError):
        load(tmp_path, user="server = ")


def test_no_server_anywhere_asks_to_log_in(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path).require_server()
    assert caught.value.hint.startswith("aigate login --server")


def test_saving_a_setting_keeps_the_others(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('ca_bundle = "/etc/ssl/corp.pem"\n')
    config.save_user_setting("server", "https://s.test", path)
    cfg = config.load_config(env={}, system_file=tmp_path / "none", user_file=path)
    assert (cfg.server.value, cfg.ca_bundle.value) == ("https://s.test", "/etc/ssl/corp.pem")


@pytest.mark.parametrize("text", ['server = "https://s.test"\n# note\nca_bundle = "/etc/a b.pem"\n', "",
                                  'server = "a" # trailing comment\n', 'server = "a\\"b"\n',
                                  "[tools.x]\npath = \"/p\"\n"])
def test_the_fast_reader_agrees_with_tomllib(tmp_path, text):
    import tomllib

    path = tmp_path / "c.toml"
    path.write_text(text)
    assert config._read_toml(path) == tomllib.loads(text)


def test_the_override_variable_cannot_hide_an_enforced_file_at_the_fixed_path(tmp_path, monkeypatch):
    from aigate import paths

    fixed = tmp_path / "etc" / "aigate.toml"
    fixed.parent.mkdir()
    fixed.write_text('server = "https://it.test"\n')
    monkeypatch.setattr(paths, "fixed_system_config_file", lambda: fixed)
    monkeypatch.setenv(paths.ENV_SYSTEM_CONFIG, "/nonexistent")
    assert paths.system_config_file() == fixed


def test_the_override_variable_names_the_enforced_file_only_when_the_fixed_path_is_empty(tmp_path, monkeypatch):
    from aigate import paths

    monkeypatch.setattr(paths, "fixed_system_config_file", lambda: tmp_path / "absent.toml")
    monkeypatch.setenv(paths.ENV_SYSTEM_CONFIG, str(tmp_path / "test.toml"))
    assert paths.system_config_file() == tmp_path / "test.toml"


def test_a_server_that_is_not_a_string_is_78_naming_the_key_and_the_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, user="server = 5\n")
    assert caught.value.exit_code == 78 and "`server`" in caught.value.message
    assert str(tmp_path / "config.toml") in caught.value.message


def test_a_garbage_enrollment_file_is_corrupt_not_logged_out(tmp_path):
    from aigate import enrollment

    (tmp_path / "enrollment.json").write_text("garbage")
    with pytest.raises(ConfigError) as caught:
        enrollment.require("https://aigate.test", tmp_path / "enrollment.json")
    assert str(tmp_path / "enrollment.json") in caught.value.message and "not logged in" not in caught.value.message
    assert "aigate login" in caught.value.hint


@needs_root
def test_enforced_file_under_a_folder_owned_by_an_ordinary_user_is_refused(tmp_path):
    folder = tmp_path / "owned" / "etc"
    folder.mkdir(parents=True)
    os.chown(tmp_path / "owned", 65534, 65534)
    with pytest.raises(ConfigError) as caught:
        load(folder, enforced='server = "https://it.test"\n')
    assert str(tmp_path / "owned") in caught.value.message


@needs_root
def test_enforced_file_under_a_group_writable_grandparent_is_refused(tmp_path):
    folder = tmp_path / "shared" / "etc"
    folder.mkdir(parents=True)
    os.chmod(tmp_path / "shared", 0o775)
    with pytest.raises(ConfigError):
        load(folder, enforced='server = "https://it.test"\n')


@needs_root
def test_unknown_keys_in_the_enforced_file_are_warned_about_by_name(tmp_path, capsys):
    load(tmp_path, enforced='server = "https://it.test"\nsevrer_typo = "x"\n')
    assert "sevrer_typo" in capsys.readouterr().err


def test_a_one_character_limit_is_said_in_the_singular():
    from aigate import protocol

    assert protocol.Limit(min_length=1).violation("") == "must be at least 1 character"
    assert protocol.Limit(max_length=2).violation("abc") == "must be at most 2 characters"
