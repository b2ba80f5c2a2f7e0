"""The one-file client's warm ``aigate run`` against the installed client's (issue 11: at most 20 % slower).

    .venv/bin/python benchmarks/pyz_overhead.py [--runs 30] [--pyz dist/aigate.pyz]

The setup of ``run_overhead.py``: a logged-in device in a throwaway HOME, a cached approval token, a
no-op ``claude``. Alternates, with the same interpreter (``--python``, default Debian's
``/usr/bin/python3``, isolated mode), the installed client (the same packages unpacked in a folder, as
the ``aigate`` Debian package installs them: ``build/dist/site``, left by ``make dist``) and
``PYTHON -I dist/aigate.pyz`` (shiv unpacks it into ``~/.shiv`` once, during the warm-up), both as
``run claude``; reports the medians and the median of the per-pair ratios. Exit 1 above 1.2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_overhead import CPU, ROOT, prepare, settle, timed

TARGET_RATIO = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pyz", type=Path, default=ROOT / "dist" / "aigate.pyz")
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "dist" / "site")
    parser.add_argument("--python", default="/usr/bin/python3")
    args = parser.parse_args()
    if not args.pyz.is_file() or not args.site.is_dir():
        raise SystemExit(f"{args.pyz} or {args.site} is missing: run `make dist`")
    site = str(args.site.resolve())
    boot = f"import sys; sys.path.insert(0, {site!r}); from aigate.standalone import main; sys.exit(main())"
    installed = [args.python, "-Ic", boot, "run", "claude"]  # "-Ic": its own key in the CPU table
    one_file = [args.python, "-I", str(args.pyz.resolve()), "run", "claude"]
    with tempfile.TemporaryDirectory(prefix="aigate-bench-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        env = prepare(home)
        work = home / "work"
        work.mkdir()
        for _ in range(3):  # bytecode, page cache, and shiv's one-time unpacking
            timed(installed, env, work), timed(one_file, env, work)
            settle(home)
        pairs = []
        for _ in range(args.runs):
            pairs.append((timed(installed, env, work), timed(one_file, env, work)))
            settle(home)
    a = statistics.median(i for i, _ in pairs)
    b = statistics.median(p for _, p in pairs)
    ratio = statistics.median(p / i for i, p in pairs)
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print(f"runs: {len(pairs)} alternating pairs")
    print(f"installed aigate run:  median {a:7.1f} ms  (CPU {cpu[' '.join(installed[:2])]:.1f} ms)")
    print(f"aigate.pyz run:        median {b:7.1f} ms  (CPU {cpu[' '.join(one_file[:2])]:.1f} ms)")
    print(f"pyz / installed:       median ratio {ratio:.2f}   target <= {TARGET_RATIO}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
