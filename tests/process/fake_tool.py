"""A stand-in for claude/codex that records what it got: argv, environment, signals, process group.

Installed under the tool's name by the process tests. Behaviour from FAKE_TOOL_MODE:
``exit:N`` exit with N; ``kill:N`` die of signal N; ``helper-twice:S`` call the key helper, wait for
the file FAKE_TOOL_GO, sleep S seconds and call it again; ``wait`` print READY and wait for signals (exits 0
half a second after the first one); ``helper`` run the key helper the way the tool would (Claude:
apiKeyHelper from --settings through a shell; Codex: the provider's auth command) and record its stdout.
The record (JSON) goes to FAKE_TOOL_RECORD, rewritten after every event.
"""

import json
import os
import signal
import subprocess
import sys
import time

RECORD = os.environ["FAKE_TOOL_RECORD"]
state = {"argv": sys.argv[1:], "env": dict(os.environ), "signals": [], "pid": os.getpid(),
         "pgid": os.getpgrp(), "helper": None}


def save():
    with open(RECORD + ".tmp", "w") as out:
        json.dump(state, out)
    os.replace(RECORD + ".tmp", RECORD)


def helper_output():
    args = sys.argv[1:]
    if "--settings" in args:
        command = json.loads(args[args.index("--settings") + 1])["apiKeyHelper"]
        done = subprocess.run(command, shell=True, capture_output=True, text=True)
    else:
        provider = next(a for a in args if a.startswith("model_providers.aigate="))
        import re
        command = json.loads(re.search(r'command=("[^"]*")', provider).group(1))
        raw_args = re.search(r"args=\[([^\]]*)\]", provider).group(1)
        argv = json.loads(f"[{raw_args}]")
        done = subprocess.run([command, *argv], capture_output=True, text=True)
    return {"stdout": done.stdout, "stderr": done.stderr, "status": done.returncode}


mode = os.environ.get("FAKE_TOOL_MODE", "exit:0")
save()
if mode.startswith("exit:"):
    sys.exit(int(mode[5:]))
if mode.startswith("kill:"):
    os.kill(os.getpid(), int(mode[5:]))
    time.sleep(5)
if mode == "helper":
    state["helper"] = helper_output()
    save()
    sys.exit(0)
if mode.startswith("helper-twice:"):  # call back, wait for GO_FILE, sleep N s, call back again
    state["helper"] = helper_output()
    save()
    while not os.path.exists(os.environ["FAKE_TOOL_GO"]):
        time.sleep(0.05)
    time.sleep(float(mode.split(":")[1]))
    state["helper_again"] = helper_output()
    save()
    sys.exit(0)
if mode == "wait":
    def on_signal(signo, _frame):
        state["signals"].append(signo)
        save()

    for signo in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signo, on_signal)
    os.write(1, b"READY\n")  # one write: a closed terminal right after must not fail a second one
    deadline, first = time.monotonic() + 20, None
    while time.monotonic() < deadline:
        if state["signals"]:
            first = first or time.monotonic()
            if time.monotonic() > first + 0.5:
                break
        time.sleep(0.02)
    sys.exit(0)
