"""Enforced settings from MDM: the macOS managed-preferences plist and the Windows policy registry
(read through a winreg-shaped fake), with the same keys and the same "IT wins" rule as aigate.toml."""

import os
import plistlib

import pytest

from aigate import config, mdm
from aigate.errors import ConfigError

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a managed plist must be root-owned")


class FakeWinreg:
    """winreg's OpenKey / EnumValue / EnumKey over nested dicts: {"server": "...", "tools": {...}}."""

    HKEY_LOCAL_MACHINE = "HKLM"
    KEY_READ = 0x20019
    KEY_WOW64_64KEY = 0x100

    class Key:
        def __init__(self, node):
            self.node = node

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def __init__(self, tree: dict):
        self.tree = {"HKLM": tree}
        self.access = []

    def OpenKey(self, key, sub_key, reserved=0, access=KEY_READ):
        node = self.tree["HKLM"] if key == "HKLM" else key.node
        self.access.append(access)
        for part in sub_key.split("\\"):
            match = {k.lower(): v for k, v in node.items() if isinstance(v, dict)}.get(part.lower())
            if match is None:
                raise FileNotFoundError(2, "The system cannot find the file specified")
            node = match
        return self.Key(node)

    def EnumValue(self, key, index):
        values = [(k, v) for k, v in key.node.items() if not isinstance(v, dict)]
        if index >= len(values):
            raise OSError(259, "No more data is available")
        name, data = values[index]
        return name, data, 1 if isinstance(data, str) else 4

    def EnumKey(self, key, index):
        keys = [k for k, v in key.node.items() if isinstance(v, dict)]
        if index >= len(keys):
            raise OSError(259, "No more data is available")
        return keys[index]


def registry(values: dict) -> FakeWinreg:
    return FakeWinreg({"SOFTWARE": {"Policies": {"aigate": values}}})


def load(tmp_path, managed, *, enforced: str | None = None, flag=None, env=None):
    system = tmp_path / "aigate.toml"
    if enforced is not None:
        system.write_text(enforced)
        os.chmod(system, 0o644)
        os.chmod(tmp_path, 0o755)
    return config.load_config(flag_server=flag, env=env or {}, system_file=system,
                              user_file=tmp_path / "config.toml", managed=managed)


def write_plist(tmp_path, values) -> object:
    path = tmp_path / "com.aigate.client.plist"
    path.write_bytes(plistlib.dumps(values))
    os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o755)
    return path


def macos(plist):
    return mdm.read_managed(platform="darwin", plist=plist, check_file=config.check_enforced_file)


def test_registry_values_and_tool_paths_are_read(tmp_path):
    fake = registry({"Server": "https://it.test/", "ca_bundle": r"C:\corp\ca.pem",
                     "tools": {"Claude": {"path": r"C:\Tools\claude.exe"}}})
    values, source = mdm.read_managed(platform="win32", registry=fake)
    assert source == r"HKLM\SOFTWARE\Policies\aigate"
    assert values == {"server": "https://it.test/", "ca_bundle": r"C:\corp\ca.pem",
                      "tools": {"claude": {"path": r"C:\Tools\claude.exe"}}}
    assert all(access & FakeWinreg.KEY_WOW64_64KEY for access in fake.access)  # the 64-bit view


def test_no_policy_key_means_nothing_is_managed(tmp_path):
    assert mdm.read_managed(platform="win32", registry=FakeWinreg({"SOFTWARE": {}})) == ({}, None)


def test_registry_server_beats_flag_environment_and_names_its_source(tmp_path):
    fake = registry({"server": "https://it.test"})
    cfg = load(tmp_path, lambda: mdm.read_managed(platform="win32", registry=fake), flag="https://flag.test",
               env={"AIGATE_SERVER": "https://env.test"})
    assert (cfg.server.value, cfg.server.enforced) == ("https://it.test", True)
    assert cfg.server.source == r"enforced (MDM: HKLM\SOFTWARE\Policies\aigate)"
    assert cfg.enforced_file == r"MDM: HKLM\SOFTWARE\Policies\aigate"


def test_a_registry_value_of_the_wrong_type_is_78_naming_the_key(tmp_path):
    fake = registry({"server": 5})
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, lambda: mdm.read_managed(platform="win32", registry=fake))
    assert "`server` must be a string" in caught.value.message and "Policies" in caught.value.message


@needs_root
def test_plist_settings_are_enforced_and_tool_paths_carry_their_source(tmp_path):
    path = write_plist(tmp_path, {"server": "https://mdm.test", "tools": {"codex": {"path": "/opt/codex"}}})
    cfg = load(tmp_path, lambda: macos(path), flag="https://flag.test")
    assert cfg.server.value == "https://mdm.test" and cfg.server.source == f"enforced (MDM: {path})"
    assert cfg.tool_paths == {"codex": "/opt/codex"}
    assert cfg.tool_sources == {"codex": f"enforced (MDM: {path})"}


@needs_root
def test_mdm_wins_over_the_enforced_file_where_both_set_a_key(tmp_path):
    path = write_plist(tmp_path, {"server": "https://mdm.test"})
    cfg = load(tmp_path, lambda: macos(path),
               enforced='server = "https://file.test"\nca_bundle = "/etc/ca.pem"\n')
    assert cfg.server.value == "https://mdm.test"
    assert (cfg.ca_bundle.value, cfg.ca_bundle.source) == ("/etc/ca.pem", f"enforced ({tmp_path / 'aigate.toml'})")


@needs_root
def test_a_plist_an_ordinary_user_can_change_is_refused(tmp_path):
    path = write_plist(tmp_path, {"server": "https://mdm.test"})
    os.chmod(path, 0o666)
    with pytest.raises(ConfigError) as caught:
        macos(path)
    assert caught.value.exit_code == 78 and str(path) in caught.value.message


@needs_root
def test_a_broken_plist_is_78_with_the_fix(tmp_path):
    path = write_plist(tmp_path, {})
    path.write_bytes(b"<?xml version='1.0'?><plist><dict><key>server</key>")
    with pytest.raises(ConfigError) as caught:
        macos(path)
    assert "not a valid plist" in caught.value.message and "com.aigate.client" in caught.value.hint


def test_no_plist_means_nothing_is_managed(tmp_path):
    assert mdm.read_managed(platform="darwin", plist=tmp_path / "none.plist") == ({}, None)


def test_linux_reads_no_mdm_source(tmp_path):
    assert mdm.read_managed(platform="linux") == ({}, None)
