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
