"""``aigate``'s entry point and its one error boundary.

The warm path comes first: ``aigate [--server URL] [--debug] run [--dry-run] TOOL ARGS...`` and the
hidden ``aigate key-helper TOOL --server URL [--repository REPO]`` (which the tools call back) are
read here by hand and go straight to :mod:`aigate.gate`, so typer, rich, httpx and the JWT library
are never imported when a cached approval is valid. Anything else, ``aigate run --help`` included,
goes to the typer app in :mod:`aigate.cli.app`.

Every AigateError, from either path, is printed here as ``aigate: <message>`` plus the fix on
stderr, and becomes the exit code; no traceback for any expected failure (``--debug`` adds one for
unexpected ones only). Nothing printed here ever contains a secret.
"""

from __future__ import annotations

import sys

from aigate import log
from aigate.errors import AigateError, ExitCode, UsageError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

def main(argv: list[str] | None = None) -> int:
    """``aigate``'s entry point: run the command in ``argv`` (default ``sys.argv[1:]``) under the one error
    boundary; the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    return boundary(lambda: dispatch(args))


def dispatch(args: list[str]) -> int:
    """Run the command in ``args``: by hand for ``run`` / ``key-helper``, else typer."""
    server, rest = _globals(args)
    if rest and rest[0] == "run":
        fast = _run_fast(rest[1:], server)
        if fast is not None:
            return fast()
    if rest and rest[0] == "key-helper":
        return _key_helper(rest[1:], server)
    from aigate.cli.app import run_app

    return run_app(args)


def _globals(args: list[str]) -> tuple[str | None, list[str]]:
    """Leading ``--server URL`` / ``--server=URL`` / ``--debug``; the rest from the command on."""
    server, i = None, 0
    while i < len(args):
        arg = args[i]
        if arg == "--debug":
            log.enable_debug()
        elif arg == "--server" and i + 1 < len(args):
            server, i = args[i + 1], i + 1
        elif arg.startswith("--server="):
            server = arg.split("=", 1)[1]
        else:
            break
        i += 1
    return server, args[i:]


def _run_fast(args: list[str], server: str | None) -> Callable[[], int] | None:
    """``[--dry-run] TOOL ARGS...`` as a call to gate.run_tool, or None to let typer handle it."""
    dry_run = bool(args) and args[0] == "--dry-run"
    rest = args[1:] if dry_run else args
    if not rest or rest[0].startswith("-"):
        return None  # --help, a typo'd option, no tool: typer's messages
    from aigate import gate

    return lambda: gate.run_tool(rest[0], rest[1:], dry_run=dry_run, deps=gate.Deps(flag_server=server))


def _key_helper(args: list[str], server: str | None) -> int:
    """``key-helper TOOL [--server URL] [--repository REPO]``: print the key, and nothing else, on stdout."""
    if not args or args[0].startswith("-"):
        raise UsageError("usage: aigate key-helper TOOL --server URL [--repository REPO] (run by the tools)")
    log.hush_warnings()  # the `aigate run` that started the tool said them once already
    tool, options = args[0], _pairs(args[1:])
    server = options.get("--server", server)
    if not server:
        raise UsageError("aigate key-helper needs --server URL")
    from aigate import gate

    key = gate.key_helper(tool, server, options.get("--repository"))
    sys.stdout.write(key + "\n")
    sys.stdout.flush()
    return 0


def _pairs(args: list[str]) -> dict[str, str]:
    if len(args) % 2:
        raise UsageError(f"aigate key-helper: option {args[-1]!r} needs a value")
    pairs = dict(zip(args[::2], args[1::2], strict=True))  # even length checked above
    unknown = set(pairs) - {"--server", "--repository"}
    if unknown:
        raise UsageError(f"aigate key-helper: unknown option {sorted(unknown)[0]}")
    return pairs


def boundary(action: Callable[[], int]) -> int:
    """Run ``action``; map AigateError to its message, hint and exit code. The only such place."""
    try:
        return int(action() or 0)
    except AigateError as err:
        report(err)
        if log.debug_enabled() and err.__cause__ is not None:
            log.debug(f"caused by {type(err.__cause__).__name__}: {err.__cause__}")
        return int(err.exit_code)
    except KeyboardInterrupt:
        print("aigate: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return 1
    except Exception as err:  # noqa: BLE001 - a bug: say so plainly; the traceback only with --debug
        print(f"aigate: internal error ({type(err).__name__}); run with --debug for details", file=sys.stderr)
        if log.debug_enabled():
            import traceback

            traceback.print_exc()
        return int(ExitCode.SOFTWARE)


def report(err: AigateError) -> None:
    """Print ``err`` as ``aigate: <message>`` and ``aigate: to fix: <hint>`` on stderr, terminal escapes shown
    escaped."""
    print(f"aigate: {log.printable(err.message)}", file=sys.stderr)  # messages may quote the server
    if err.hint:  # one line, or several ways out, one per line
        first, *more = err.hint.splitlines()
        print(f"aigate: to fix: {log.printable(first)}", file=sys.stderr)
        for line in more:
            print(f"aigate:   {log.printable(line)}", file=sys.stderr)
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
