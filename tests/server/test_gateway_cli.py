"""``aigate-server keys|gateway|usage`` and the policy's ``key_source``: values never printed, keys
encrypted at rest, and an nginx configuration that nginx itself accepts (``nginx -t``)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess

import pytest

from aigate.server.policy import PolicyError, parse_policy
from harness.gateway import gateway_policy

KEY = "sk-ant-cli-test-7788"
GATEWAY_POLICY = gateway_policy("https://aigw.corp.example")


@pytest.fixture
def home(tmp_path, cli):
    folder = tmp_path / "srv"
    assert cli("init", "--data-dir", str(folder))[0] == 0
    (folder / "policy.toml").write_text(GATEWAY_POLICY)
    return ["--data-dir", str(folder)]


def _set(cli, monkeypatch, scope, key, home):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    return cli("keys", "set", scope, "--stdin", *home)


def test_key_source_gateway_needs_base_url():
    with pytest.raises(PolicyError) as err:
        parse_policy('[tools.claude]\nkey_source = "gateway"\n')
    assert "needs base_url" in err.value.problems[0] and err.value.problems[0].startswith("line 2")


def test_key_source_is_laptop_or_gateway():
    with pytest.raises(PolicyError) as err:
        parse_policy('[tools.claude]\nkey_source = "cloud"\n')
    assert 'must be "laptop" or "gateway"' in err.value.problems[0]


def test_policy_check_refuses_a_gateway_tool_without_base_url(cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[tools.codex]\nkey_source = "gateway"\n[[rules]]\ngroups=["*"]\ntools=["*"]\napproval="auto"\n')
    code, _, err = cli("policy", "check", str(path))
    assert code == 1 and "needs base_url" in err


def test_keys_set_stores_the_key_encrypted_and_prints_only_its_tail(home, cli, monkeypatch, tmp_path):
    code, out, err = _set(cli, monkeypatch, "anthropic", KEY, home)
    assert code == 0 and KEY not in out + err and "…7788" in out
    kek = tmp_path / "srv" / "vendor-keys.kek"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    dump = "\n".join(sqlite3.connect(tmp_path / "srv" / "aigate.db").iterdump())
    assert "vendor_keys" in dump and KEY not in dump  # a database dump alone reveals nothing
    code, out, _ = cli("keys", "list", *home)
    assert code == 0 and "anthropic\t…7788" in out and KEY not in out


def test_keys_set_replaces_and_delete_removes_with_audit_events_but_no_value(home, cli, monkeypatch):
    _set(cli, monkeypatch, "anthropic", KEY, home)
    code, out, _ = _set(cli, monkeypatch, "anthropic", KEY + "-2", home)
    assert code == 0 and out.startswith("replaced")
    assert cli("keys", "delete", "anthropic", *home)[0] == 0
    assert cli("keys", "delete", "anthropic", *home)[0] == 1
    audit = cli("audit", "export", *home)[1]
    assert all(a in audit for a in ("vendor_key.set", "vendor_key.replaced", "vendor_key.deleted"))
    assert KEY not in audit


@pytest.mark.parametrize("bad", ["", "two words", "tab\there", "é-unicode"])
def test_keys_set_refuses_a_key_that_cannot_be_a_header(home, cli, monkeypatch, bad):
    code, _, err = _set(cli, monkeypatch, "anthropic", bad, home)
    assert code == 2 and "vendor key" in err


def test_a_kek_others_can_read_is_refused(home, cli, monkeypatch, tmp_path):
    _set(cli, monkeypatch, "anthropic", KEY, home)
    (tmp_path / "srv" / "vendor-keys.kek").chmod(0o644)
    code, _, err = _set(cli, monkeypatch, "openai", KEY, home)
    assert code == 78 and "chmod 600" in err


def test_gateway_add_prints_its_credential_last_and_list_and_remove(home, cli):
    code, out, _ = cli("gateway", "add", "gw1", *home)
    assert code == 0 and out.strip().splitlines()[-1].startswith("agw_")
    assert cli("gateway", "add", "gw1", *home)[0] == 1
    assert cli("gateway", "add", "-bad name", *home)[0] == 2
    assert "gw1\t" in cli("gateway", "list", *home)[1]
    assert cli("gateway", "remove", "gw1", *home)[0] == 0
    assert cli("gateway", "remove", "gw1", *home)[0] == 1
    assert "gateway.added" in cli("audit", "export", *home)[1]


def _config(cli, home, tmp_path, *extra, hosts=("api.anthropic.com", "api.openai.com", "aigate.corp.example")):
    credential = tmp_path / "gw.credential"
    credential.write_text(cli("gateway", "add", "gw1", *home)[1].strip().splitlines()[-1] + "\n")
    args = ["gateway", "nginx-config", "--listen", "127.0.0.1:8443", "--route", f"anthropic=https://{hosts[0]}",
            "--route", f"openai=https://{hosts[1]}/v1", "--credential-file", str(credential),
            "--server-url", f"https://{hosts[2]}", *extra, *home]
    return cli(*args), credential.read_text().strip()


def test_nginx_config_never_prints_the_gateway_credential(home, cli, tmp_path):
    (code, out, err), credential = _config(cli, home, tmp_path)
    assert code == 0 and credential not in out + err
    include = tmp_path / "gw.credential.nginx"
    assert stat.S_IMODE(include.stat().st_mode) == 0o600 and credential in include.read_text()
    assert f"include {include};" in out


def test_nginx_config_sets_each_vendors_header_and_streams(home, cli, tmp_path):
    (_, out, _), _ = _config(cli, home, tmp_path)
    anthropic = out[out.index("location /anthropic/"):out.index("location = /.aigate-authorize/openai")]
    openai = out[out.index("location /openai/"):]
    assert "proxy_set_header x-api-key $aigate_key;" in anthropic and 'Authorization "";' in anthropic
    assert 'proxy_set_header Authorization "Bearer $aigate_key";' in openai and 'x-api-key "";' in openai
    assert "proxy_pass https://aigate_vendor_1_openai/v1/;" in openai
    for block in (anthropic, openai):
        assert "proxy_buffering off;" in block and "proxy_request_buffering off;" in block
        assert "proxy_ssl_verify on;" in block and "proxy_ssl_server_name on;" in block
    assert "anthropic-version" not in out  # passed unchanged: nginx forwards request headers as they are
    assert "client_max_body_size 0;" in out


def test_nginx_config_refuses_a_scope_no_gateway_tool_uses(home, cli, tmp_path):
    (code, _, err), _ = _config(cli, home, tmp_path, "--route", "mistral=https://api.mistral.ai")
    assert code == 78 and "mistral" in err


@pytest.mark.skipif(not shutil.which("nginx") and not shutil.which("/usr/sbin/nginx"), reason="needs nginx")
def test_the_full_nginx_config_is_accepted_by_nginx(home, cli, tmp_path):
    prefix = tmp_path / "ngx"
    # nginx resolves upstream names when it reads the configuration: names this machine knows
    (code, out, err), credential = _config(cli, home, tmp_path, "--full", "--prefix", str(prefix),
                                           hosts=("localhost:9443", "localhost:9444", "localhost:8765"))
    assert code == 0, err
    assert "daemon" not in out.replace("-g 'daemon off;'", "")
    assert all(line.split()[1].startswith(str(prefix)) for line in out.splitlines()
               if line.strip().split(" ")[0] in ("pid", "error_log", "access_log", "client_body_temp_path", "include"))
    (prefix / "nginx.conf").write_text(out)
    (prefix / "temp").mkdir()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    done = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                          capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    assert credential not in out


def test_usage_prints_nothing_yet_and_checks_its_date(home, cli):
    assert cli("usage", "--json", *home)[:2] == (0, "[]\n")
    assert cli("usage", "--since", "yesterday", *home)[0] == 2
