#!/usr/bin/env bash
# `make dist`: every artifact IT installs, into dist/:
#   aigate-VERSION-py3-none-any.whl, aigate-VERSION.tar.gz   (python -m build)
#   aigate.pyz                                                (shiv: the client and its dependencies in one
#                                                              file; runs with any Python 3.11+ on this platform)
#   aigate_VERSION_ARCH.deb, aigate-server_VERSION_ARCH.deb     (dpkg-deb; packaging/debian/build.sh)
# Needs the venv (`make install`), root (the .deb build mounts its install paths privately), and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
py=.venv/bin/python
say() { printf '==> %s\n' "$*" >&2; }
version=$($py -c 'import aigate; print(aigate.__version__)')
arch=$(uname -m)
work=build/dist
rm -rf "$work" dist/aigate-* dist/aigate.pyz dist/aigate_*.deb dist/aigate-server_*.deb
mkdir -p "$work" dist

say "wheel and sdist"
$py -m build --no-isolation --wheel --sdist --outdir dist . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
wheel=dist/aigate-$version-py3-none-any.whl

say "the client's site-packages (for the .pyz and the aigate .deb)"
$py -m pip install -q --disable-pip-version-check --no-compile --target "$work/site" "$wheel"
# Compiled dependencies (cffi's backend, pydantic-core for typer) are built per Python minor version:
# add the later Pythons' builds of the same versions (pinned), so the one file runs with any Python
# 3.11+ on this CPU and libc family. A Python with no wheel published yet is reported and skipped.
for info in "$work"/site/*.dist-info; do
    $py -c 'import sys, email; m = email.message_from_string(open(sys.argv[1] + "/METADATA").read()); print(m["Name"] + "==" + m["Version"])' "$info"
done | grep -v '^aigate==' > "$work/pins.txt"
# pip takes --platform literally: name every manylinux tag this glibc runs (2_17 up to its own).
glibc_minor=$(ldd --version | head -1 | grep -o '[0-9]*$')
platforms=()
for ((v = glibc_minor; v >= 17; v--)); do platforms+=(--platform "manylinux_2_${v}_$arch"); done
platforms+=(--platform "manylinux2014_$arch")
for minor in 3.12 3.13 3.14; do
    if $py -m pip install -q --disable-pip-version-check --no-compile --target "$work/site-$minor" --only-binary=:all: \
        --implementation cp --python-version "$minor" "${platforms[@]}" -c "$work/pins.txt" \
        "$wheel" >"$work/site-$minor.log" 2>&1; then
        (cd "$work/site-$minor" && find . -name "*cpython-${minor/./}*.so" -o -path "./*.libs/*" -type f) | while read -r file; do
            mkdir -p "$work/site/$(dirname "$file")" && cp -n "$work/site-$minor/$file" "$work/site/$file"
        done
    else
        echo "dist: no wheels for Python $minor yet (see $work/site-$minor.log); the .pyz will not run there" >&2
    fi
done
rm -rf "$work"/site/bin  # console scripts with this venv's shebang: not part of a site-packages

say "dist/aigate.pyz (shiv)"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)} \
    $py -m shiv --site-packages "$work/site" --entry-point aigate.standalone:main --python '/usr/bin/env python3' \
    --compile-pyc --reproducible --output-file dist/aigate.pyz >"$work/shiv.log" 2>&1 || { cat "$work/shiv.log" >&2; exit 1; }
$py packaging/pyz_fast_start.py dist/aigate.pyz

say "Debian packages aigate and aigate-server"
unshare --mount --propagation private bash packaging/debian/build.sh "$version" "$wheel" "$work"

ls -l dist >&2
say "make dist: done in $(( $(date +%s) - start ))s"
