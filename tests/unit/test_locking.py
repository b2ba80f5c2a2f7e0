"""The lock around aigate's read-modify-write of its own files (issue 7, item 6)."""

import pytest

from aigate.errors import ConfigError
from aigate.locking import FileLock


def test_a_held_lock_is_waited_for_a_bounded_time_and_named(tmp_path):
    target = tmp_path / "keys.json"
    with FileLock(target), pytest.raises(ConfigError) as err, FileLock(target, timeout=0.2):
        pass
    assert ".keys.json.lock" in err.value.message and err.value.exit_code == 78


def test_a_released_lock_is_taken_again(tmp_path):
    target = tmp_path / "enrollment.json"
    with FileLock(target):
        pass
    with FileLock(target, timeout=0.2):
        pass


def test_a_state_file_that_cannot_be_written_is_78_naming_it_never_an_internal_error(tmp_path):
    from aigate import paths

    in_the_way = tmp_path / "keys.json"
    in_the_way.mkdir()
    with pytest.raises(ConfigError) as caught:
        paths.write_private(in_the_way, b"[]")
    assert str(in_the_way) in caught.value.message
    a_file = tmp_path / "state"
    a_file.write_text("")
    with pytest.raises(ConfigError):
        paths.write_private(a_file / "enrollment.json", b"{}")
    with pytest.raises(ConfigError):
        FileLock(a_file / "enrollment.json").__enter__()
