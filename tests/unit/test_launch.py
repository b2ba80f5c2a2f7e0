import signal

from aigate import launch

CHILD, ME, SHELL = 200, 100, 50


def test_child_env_removes_scrubbed_names_and_reports_names_only():
    env, removed = launch.child_env({"PATH": "/bin", "OPENAI_API_KEY": "sk-x"}, scrub=["OPENAI_API_KEY"],
                                    set_vars={"A": "1"})
    assert env == {"PATH": "/bin", "A": "1"} and removed == ["OPENAI_API_KEY"]


def test_death_by_signal_n_is_128_plus_n():
    assert launch.exit_status(signal.SIGTERM) == 128 + signal.SIGTERM
    assert launch.exit_status(3 << 8) == 3


def test_a_signal_sent_to_aigate_alone_is_forwarded():
    assert launch.should_forward(signal.SIGTERM, 0, 4242, child=CHILD, me=ME, session=SHELL)


def test_a_terminal_signal_already_reached_the_tool():
    assert not launch.should_forward(signal.SIGINT, 0x80, 0, child=CHILD, me=ME, session=SHELL)


def test_a_signal_from_the_tool_itself_is_not_sent_back():
    assert not launch.should_forward(signal.SIGTERM, 0, CHILD, child=CHILD, me=ME, session=SHELL)


def test_the_shells_hangup_of_its_jobs_is_not_repeated():
    assert not launch.should_forward(signal.SIGHUP, 0, SHELL, child=CHILD, me=ME, session=SHELL)


def test_a_kernel_hangup_to_aigate_as_session_leader_is_forwarded():
    assert launch.should_forward(signal.SIGHUP, 0x80, 0, child=CHILD, me=ME, session=ME)
