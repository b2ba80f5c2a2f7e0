"""aigate's own exit codes never collide with a tool's generic 1 (issue 7, item 4)."""

from aigate.cli.entry import boundary


def test_an_internal_error_is_70_not_1(capsys):
    assert boundary(lambda: 1 / 0) == 70
    assert "internal error (ZeroDivisionError)" in capsys.readouterr().err
