#!/usr/bin/env bash
# Install everything aigate's tests and demo need, from nothing, on a Debian machine like CI's:
#   - Debian packages: PostgreSQL (server tests), tmux (interactive e2e), gnome-keyring + dbus +
#     libsecret-tools (a real Secret Service keyring), wrk (benchmarks), git, Node.js + npm,
#     chromium + chromium-driver (the console's real-browser tests), nginx-light (the enforced-mode
#     gateway, with auth_request);
#   - .venv with `pip install -e .[server,test,dist]`;
#   - the pinned claude and codex (`npm ci --prefix tools`);
#   - the SSO tests' OpenID provider, oidc-provider (`npm ci --prefix tests/support/oidc`).
# Each step is skipped when already done, so `make test` can call this every time.
# Usage: scripts/bootstrap.sh [--no-venv] [--no-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

want_venv=1 want_tools=1
for arg in "$@"; do
    case "$arg" in
        --no-venv) want_venv=0 ;;
        --no-tools) want_tools=0 ;;
        *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need tmux tmux
need gnome-keyring-daemon gnome-keyring
need dbus-run-session dbus
need dbus-launch dbus-x11
need secret-tool libsecret-tools
need wrk wrk
need git git
need node nodejs
need npm npm
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
        echo "           install them with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python ------------------------------------------------------------------------------------------
if ((want_venv)); then
    stamp=.venv/.aigate-installed
    digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ ! -x .venv/bin/python ]]; then
        say "python3 -m venv .venv"
        python3 -m venv .venv
    fi
    if [[ ! -f $stamp || $(cat "$stamp") != "$digest" ]]; then
        say "pip install -e .[server,test,dist]"
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[server,test,dist]'
        echo "$digest" > "$stamp"
    fi
fi

# --- the real tools, pinned --------------------------------------------------------------------------
if ((want_tools)); then
    stamp=tools/node_modules/.aigate-installed
    digest=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$digest" ]]; then
        say "npm ci --prefix tools (claude-code and codex, as pinned in tools/package-lock.json)"
        npm ci --prefix tools --no-audit --no-fund --loglevel=error
        # claude-code's postinstall copies the platform binary over a placeholder; npm may skip
        # install scripts, so run it ourselves when the placeholder is still there.
        if ! tools/node_modules/.bin/claude --version >/dev/null 2>&1; then
            node tools/node_modules/@anthropic-ai/claude-code/install.cjs
        fi
        echo "$digest" > "$stamp"
    fi
    tools/node_modules/.bin/claude --version >/dev/null
    tools/node_modules/.bin/codex --version >/dev/null
    stamp=tests/support/oidc/node_modules/.aigate-installed
    digest=$(sha256sum tests/support/oidc/package-lock.json | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$digest" ]]; then
        say "npm ci --prefix tests/support/oidc (oidc-provider, the SSO tests' OpenID provider)"
        npm ci --prefix tests/support/oidc --no-audit --no-fund --loglevel=error
        echo "$digest" > "$stamp"
    fi
fi
