"""A real OpenID provider for the SSO tests: the npm package ``oidc-provider`` on a free loopback port.

    with OidcProvider(tmp_path, redirect_uri=f"{aigate_url}/sso/callback") as provider:
        provider.set_groups("ann@corp.example", ["applied-ai"])
        serve_args = provider.serve_args()   # --oidc-issuer ... --oidc-client-id ...
        env = provider.server_env()          # AIGATE_SERVER_OIDC_CLIENT_SECRET

``tests/support/oidc/provider.mjs`` runs it (installed by ``scripts/bootstrap.sh`` with ``npm ci``);
its development login form signs in any login name (the name is the email), then asks for consent.
:func:`sign_in` fills both forms in a Selenium browser.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from harness.postgres import free_port
from harness.server import stop_process

HERE = Path(__file__).resolve().parent / "oidc"
SCRIPT = HERE / "provider.mjs"
CLIENT_ID = "aigate-server"

#: The SSO tests' policy: roles from groups; `applied-ai` runs claude at once, everyone else asks.
SSO_POLICY = """
token_ttl = "10m"
[roles]
approvers = ["eng-leads"]
admins = ["it-admins"]

[[rules]]
groups = ["applied-ai"]
tools = ["claude"]
approval = "auto"
max_duration = "8h"

[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""


class OidcProvider:
    def __init__(self, folder: Path, *, redirect_uri: str):
        self.folder = folder
        self.redirect_uri = redirect_uri
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_secret = secrets.token_urlsafe(24)
        self.accounts_path = folder / "oidc-accounts.json"
        self.log_path = folder / f"oidc-provider-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> OidcProvider:
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("oidc-provider is not installed: run scripts/bootstrap.sh "
                               "(npm ci --prefix tests/support/oidc)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.accounts_path.exists():
            self.accounts_path.write_text("{}")
        node = shutil.which("node") or "node"
        # `--name=value`: a random secret may begin with "-", which node's parseArgs takes for an option
        argv = [node, str(SCRIPT), f"--port={self.port}", f"--client-id={CLIENT_ID}",
                f"--client-secret={self.client_secret}", f"--redirect-uri={self.redirect_uri}",
                f"--accounts={self.accounts_path}"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited {self.process.returncode}:\n{self.log()}")
            if f"ready {self.issuer}" in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"oidc-provider not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_account(self, login: str, **claims: object) -> None:
        """What the provider says about ``login`` at its next sign-in (``groups=[...]``,
        ``email_verified=False``, ``email=...``); read by the provider at every sign-in."""
        accounts = json.loads(self.accounts_path.read_text())
        accounts[login] = claims
        self.accounts_path.write_text(json.dumps(accounts))

    def serve_args(self, groups_claim: str | None = None) -> list[str]:
        args = ["--oidc-issuer", self.issuer, "--oidc-client-id", CLIENT_ID]
        return args + (["--oidc-groups-claim", groups_claim] if groups_claim else [])

    def server_env(self) -> dict[str, str]:
        return {"AIGATE_SERVER_OIDC_CLIENT_SECRET": self.client_secret}


def sign_in(browser, login: str, *, shots: Path | None = None, prefix: str = "") -> None:
    """In ``browser`` (at the provider's login form): sign in as ``login``, then give consent
    (skipped when the provider does not ask). Screenshots of both forms go to ``shots``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.browser import save_screenshot

    wait = WebDriverWait(browser, 30)
    wait.until(ec.presence_of_element_located((By.NAME, "login")))
    browser.find_element(By.NAME, "login").send_keys(login)
    browser.find_element(By.NAME, "password").send_keys("any password")
    if shots:
        save_screenshot(browser, shots, f"{prefix}provider-login")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: "/interaction/" not in b.current_url or _consent_form(b))
    if _consent_form(browser):
        if shots:
            save_screenshot(browser, shots, f"{prefix}provider-consent")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: "/interaction/" not in b.current_url)


def _consent_form(browser) -> bool:
    from selenium.webdriver.common.by import By

    return bool(browser.find_elements(By.CSS_SELECTOR, "input[name=prompt][value=consent]"))
