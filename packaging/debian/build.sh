#!/usr/bin/env bash
# Build the Debian packages `aigate` and `aigate-server` with dpkg-deb, from the wheel and the client's
# site-packages that scripts/dist.sh made. Run by scripts/dist.sh inside `unshare --mount`: /usr and
# /opt are overlaid privately, so the client and the server venv are built at their final paths (their
# bytecode and scripts name the right files) while nothing on this machine changes; what they wrote
# is then copied out of the overlays' upper layers.
# Usage (as root, in a private mount namespace): packaging/debian/build.sh VERSION WHEEL WORKDIR
set -euo pipefail
version=$1 wheel=$(realpath "$2") work=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/../..")
python=/usr/bin/python3  # Debian's python3: what the packages depend on
arch=$(dpkg --print-architecture)
minor=$($python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
next=$($python -c 'import sys; print("%d.%d" % (sys.version_info[0], sys.version_info[1] + 1))')

overlay() {  # overlay DIR NAME: writes under DIR land in $work/overlay/NAME-upper only
    mkdir -p "$work/overlay/$2-upper" "$work/overlay/$2-work"
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$work/overlay/$2-upper,workdir=$work/overlay/$2-work" "$1"
}
overlay /usr usr
overlay /opt opt

control() {  # control PACKAGE ROOT DEPENDS DESCRIPTION...
    local package=$1 root=$2 depends=$3
    shift 3
    {
        echo "Package: $package"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: aigate maintainers <aigate@localhost>"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
        echo "Depends: $depends"
        echo "Section: devel"
        echo "Priority: optional"
        printf 'Description: %s\n' "$1"
        shift
        for line in "$@"; do printf ' %s\n' "$line"; done
    } > "$root/DEBIAN/control"
}

build() {  # build ROOT: the .deb into dist/
    dpkg-deb --root-owner-group -Zzstd -z9 --build "$1" "$repo/dist" >/dev/null
}

# --- aigate: the client, the shims, the enforced settings file ---------------------------------------
root=$work/deb-aigate
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib" "$root/etc/aigate" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
mkdir -p /usr/lib/aigate
cp -a "$work/site" /usr/lib/aigate/site
$python -m compileall -q -j0 /usr/lib/aigate/site >/dev/null
$python -I -c 'import sys; sys.path.insert(0, "/usr/lib/aigate/site")
from pathlib import Path
from aigate import shims
shims.install(Path("/usr/lib/aigate/shims"), command=["/usr/bin/aigate"], windows=False)'
cp -a "$work/overlay/usr-upper/lib/aigate" "$root/usr/lib/aigate"
install -m 0755 "$here/aigate/aigate" "$root/usr/bin/aigate"
install -m 0644 "$here/aigate/aigate.toml" "$root/etc/aigate/aigate.toml"
install -m 0644 "$repo/completions/aigate.bash" "$root/usr/share/bash-completion/completions/aigate"
install -m 0644 "$repo/completions/aigate.zsh" "$root/usr/share/zsh/vendor-completions/_aigate"
install -m 0644 "$repo/completions/aigate.fish" "$root/usr/share/fish/vendor_completions.d/aigate.fish"
install -m 0755 "$here/aigate/postinst" "$here/aigate/prerm" "$root/DEBIAN/"
echo /etc/aigate/aigate.toml > "$root/DEBIAN/conffiles"
control aigate "$root" "python3 (>= 3.11)" "gate for AI coding agents: approval, scoped keys, audit (client)" \
    "aigate run claude / codex: the approval token from the company's aigate server, the key for" \
    "the approved scope from the OS keyring, then the real tool. Shims in /usr/lib/aigate/shims" \
    "(linked from /usr/local/bin) make a bare claude or codex go through the gate; IT's enforced" \
    "settings are in /etc/aigate/aigate.toml."
build "$root"

# --- aigate-server: a venv under /opt, a systemd unit, a system user, data in /var/lib -------------
root=$work/deb-aigate-server
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/default" "$root/opt"
$python -m venv /opt/aigate-server
/opt/aigate-server/bin/python -m pip install -q --disable-pip-version-check "$wheel[server]"
cp -a "$work/overlay/opt-upper/aigate-server" "$root/opt/aigate-server"
install -m 0755 "$here/aigate-server/aigate-server" "$root/usr/bin/aigate-server"
install -m 0644 "$here/aigate-server/aigate-server.service" "$root/lib/systemd/system/aigate-server.service"
install -m 0644 "$here/aigate-server/default" "$root/etc/default/aigate-server"
install -m 0755 "$here/aigate-server/postinst" "$here/aigate-server/prerm" "$here/aigate-server/postrm" "$root/DEBIAN/"
echo /etc/default/aigate-server > "$root/DEBIAN/conffiles"
control aigate-server "$root" "python3 (>= $minor), python3 (<< $next)" \
    "gate for AI coding agents: the approval server" \
    "Users, devices, access requests, approvals, signed approval tokens and the audit log" \
    "(FastAPI, SQLite by default). Runs as the system user aigate-server from the systemd unit" \
    "aigate-server.service; data in /var/lib/aigate-server, kept on upgrade, removed on purge."
build "$root"
