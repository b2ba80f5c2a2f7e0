"""Shims: what `aigate shims install|remove` writes and removes, and that the gate never starts a shim."""

import os
import subprocess
from pathlib import Path

import pytest

from aigate import locate, shims
from aigate.errors import ConfigError

AIGATE = ["/opt/aigate bin/aigate"]  # a space: the shim must quote it


def test_install_writes_an_executable_shim_per_tool_that_execs_aigate_run(tmp_path):
    written = shims.install(tmp_path / "shims", command=AIGATE, windows=False)
    assert sorted(p.name for p in written) == ["claude", "codex"]
    text = (tmp_path / "shims" / "claude").read_text()
    assert text.startswith("#!/bin/sh\n")
    assert text.rstrip().endswith("exec '/opt/aigate bin/aigate' run claude \"$@\"")
    assert os.stat(tmp_path / "shims" / "codex").st_mode & 0o777 == 0o755


def test_the_shim_passes_arguments_byte_for_byte_and_returns_the_exit_status(tmp_path):
    fake = tmp_path / "fake-aigate"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\nexit 42\n")
    fake.chmod(0o755)
    shims.install(tmp_path / "shims", command=[str(fake)], windows=False)
    result = subprocess.run([str(tmp_path / "shims" / "codex"), "exec", "two words", "", "$HOME", "-cp"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 42
    assert result.stdout == "<run><codex><exec><two words><><$HOME><-cp>"


def test_installing_twice_is_harmless(tmp_path):
    folder = tmp_path / "shims"
    shims.install(folder, command=AIGATE, windows=False)
    before = (folder / "claude").read_text()
    shims.install(folder, command=AIGATE, windows=False)
    assert (folder / "claude").read_text() == before
    assert sorted(p.name for p in folder.iterdir()) == ["claude", "codex"]


def test_install_never_overwrites_a_real_tool(tmp_path):
    (tmp_path / "claude").write_text("#!/bin/sh\necho real claude\n")
    with pytest.raises(ConfigError) as caught:
        shims.install(tmp_path, command=AIGATE, windows=False)
    assert "not an aigate shim" in caught.value.message and caught.value.exit_code == 78
    assert (tmp_path / "claude").read_text() == "#!/bin/sh\necho real claude\n"
    assert not (tmp_path / "codex").exists()  # checked before anything is written


def test_remove_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "shims"
    shims.install(folder, command=AIGATE, windows=False)
    assert len(shims.remove(folder, windows=False)) == 2
    assert not folder.exists()
    assert shims.remove(folder, windows=False) == []  # again: nothing to do, no error


def test_remove_keeps_files_that_are_not_shims(tmp_path):
    folder = tmp_path / "shims"
    shims.install(folder, command=AIGATE, windows=False)
    (folder / "codex").write_text("#!/bin/sh\n# someone's own codex\n")
    shims.remove(folder, windows=False)
    assert [p.name for p in folder.iterdir()] == ["codex"]


def test_windows_shims_are_cmd_files_that_the_lookup_also_skips(tmp_path):
    shims.install(tmp_path, command=[r"C:\Program Files\aigate\aigate.exe"], windows=True)
    text = (tmp_path / "claude.cmd").read_bytes().decode()
    assert text.startswith("@echo off\r\n")
    assert r'"C:\Program Files\aigate\aigate.exe" run claude %*' in text
    assert locate.is_shim(tmp_path / "claude.cmd")


def test_the_gate_skips_shims_and_finds_the_real_binary_behind_them(tmp_path):
    shims.install(tmp_path / "shims", command=AIGATE, windows=False)
    shims.install(tmp_path / "other-shims", command=AIGATE, windows=False)
    real = tmp_path / "bin" / "claude"
    real.parent.mkdir()
    real.write_text("#!/bin/sh\n")
    real.chmod(0o755)
    path = os.pathsep.join(str(tmp_path / d) for d in ("shims", "other-shims", "bin"))
    assert locate.find_binary("claude", path_env=path) == [str(real)]


def test_a_symlink_to_a_shim_is_a_shim(tmp_path):
    shims.install(tmp_path / "shims", command=AIGATE, windows=False)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "claude").symlink_to(tmp_path / "shims" / "claude")
    assert locate.is_shim(tmp_path / "bin" / "claude")


def test_only_shims_on_path_is_127_not_a_loop(tmp_path):
    shims.install(tmp_path, command=AIGATE, windows=False)
    with pytest.raises(Exception) as caught:
        locate.find_binary("claude", path_env=str(tmp_path))
    assert caught.value.exit_code == 127


def test_default_dir_for_a_user_is_under_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert shims.default_dir() == tmp_path / "data" / "aigate" / "shims"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert shims.default_dir() == shims.SYSTEM_DIR


def test_run_from_a_private_folder_aigate_starts_itself_isolated_with_that_folder_first(monkeypatch, tmp_path):
    import subprocess
    import sys

    from aigate import selfcmd

    installed = selfcmd.module_argv("aigate.spool", "/usr/bin/python3")  # a venv: isolated too (issue 7)
    assert installed[:3] == ["/usr/bin/python3", "-I", "-c"] and installed[-1] == "aigate.spool"
    assert Path(installed[-2], "aigate", "__init__.py").is_file()
    site = tmp_path / "site" / "pkg_probe"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    (site / "__main__.py").write_text("import sys; print(sys.argv[1:], sys.flags.isolated)\n")
    monkeypatch.setattr(selfcmd, "_site", str(tmp_path / "site"))
    argv = selfcmd.module_argv("pkg_probe", sys.executable)
    assert argv[:3] == [sys.executable, "-I", "-c"]
    out = subprocess.run([*argv, "a b", "--x"], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert out == "['a b', '--x'] 1\n"
