#!/usr/bin/env bash
# Run the end-to-end tier against the NEWEST claude-code and codex releases (not the pins in tools/),
# and say which observed behaviour changed. Outside CI on purpose: npm's "latest" moves weekly, and
# moving the pins (tools/package.json + package-lock.json) is a deliberate commit made after this passes.
#
#   scripts/check_latest_tools.sh            # tests/e2e/test_vendor_tools.py and the aigate e2e tier
#   scripts/check_latest_tools.sh --vendor   # only the vendor-behaviour tests (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(tests/e2e)
[[ ${1:-} == --vendor ]] && targets=(tests/e2e/test_vendor_tools.py)

prefix=$(mktemp -d "${TMPDIR:-/tmp}/aigate-latest-tools.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

bash scripts/bootstrap.sh --no-tools
echo "==> npm install @anthropic-ai/claude-code@latest @openai/codex@latest (into $prefix)"
echo '{"private": true}' > "$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    @anthropic-ai/claude-code@latest @openai/codex@latest >/dev/null
bin="$prefix/node_modules/.bin"
if ! "$bin/claude" --version >/dev/null 2>&1; then
    node "$prefix/node_modules/@anthropic-ai/claude-code/install.cjs"
fi

pinned() { node -p "require('./tools/package.json').dependencies['$1']"; }
latest() { node -p "require('$prefix/node_modules/$1/package.json').version"; }
echo
printf '%-28s %-12s %-12s\n' package pinned latest
for pkg in @anthropic-ai/claude-code @openai/codex; do
    printf '%-28s %-12s %-12s\n' "$pkg" "$(pinned "$pkg")" "$(latest "$pkg")"
done
echo "node $(node --version); claude says: $("$bin/claude" --version); codex says: $("$bin/codex" --version)"
echo

junit="$prefix/junit.xml"
set +e
AIGATE_E2E_TOOLS_BIN="$bin" .venv/bin/python -m pytest "${targets[@]}" -q -p no:cacheprovider \
    --junitxml="$junit" -o junit_family=xunit1
status=$?
set -e

echo
.venv/bin/python - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET

failed = [case for case in ET.parse(sys.argv[1]).iter("testcase")
          if case.find("failure") is not None or case.find("error") is not None]
if not failed:
    print("No observed behaviour changed: the newest releases behave as the pinned ones.")
else:
    print("Behaviours that changed (or broke) with the newest releases:")
    for case in failed:
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        first = (problem.get("message") or "").splitlines()[0][:160] if problem is not None else ""
        print(f"  - {case.get('classname').rsplit('.', 1)[-1]}::{case.get('name')}: {first}")
PY
exit $status
