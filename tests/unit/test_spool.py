"""Session events: spooled first, sent later, never lost, resend-safe."""

from aigate import spool

EVENT = {"session_id": "s1", "kind": "start", "tool": "claude", "at": "2026-11-29T17:00:00Z"}


def test_a_sent_event_is_removed_from_the_spool(tmp_path):
    spool.record(tmp_path, "https://s.test", EVENT)
    sent = []
    assert spool.flush(tmp_path, lambda server, event: sent.append((server, event))) == (1, 0)
    assert sent == [("https://s.test", EVENT)] and spool.pending(tmp_path) == []


def test_an_event_that_cannot_be_sent_stays_for_the_next_flusher(tmp_path):
    spool.record(tmp_path, "https://s.test", EVENT)

    def unreachable(server, event):
        raise ConnectionError("down")

    assert spool.flush(tmp_path, unreachable) == (0, 1)
    assert len(spool.pending(tmp_path)) == 1


def test_start_and_end_of_one_session_are_two_files(tmp_path):
    spool.record(tmp_path, "https://s.test", EVENT)
    spool.record(tmp_path, "https://s.test", {**EVENT, "kind": "end", "exit_status": 0})
    assert len(spool.pending(tmp_path)) == 2


def test_spool_files_are_private(tmp_path):
    path = spool.record(tmp_path, "https://s.test", EVENT)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_garbage_spool_file_is_set_aside_with_a_warning_not_deleted(tmp_path, capsys):
    (tmp_path / "junk-start.json").write_text("{not json")
    assert spool.flush(tmp_path, lambda server, event: None) == (0, 0)
    assert (tmp_path / "junk-start.json.bad").read_text() == "{not json"
    assert "set aside" in capsys.readouterr().err and spool.pending(tmp_path) == []
