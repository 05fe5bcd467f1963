"""The real OpenID provider of the single sign-on tests (tests/oidc_provider/), beside a
live Haven: started in the stack's namespace on loopback, reached by Haven and the
browser at http://localhost:PORT/o and by the test process through a Unix socket."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.harness import flows
from tests.harness.netns import pick_port
from tests.harness.stack import PYTHON, ROOT, Stack, live_stack

CLIENT_ID = "haven-tests"
PROVIDER_PASSWORD = "provider password for tests 7"
ORGANISATION = "sendiass-leicester"


@dataclass
class Provider:
    folder: Path
    port: int
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None
    # Run in the live stack's namespace (empty: on this machine's loopback).
    exec_prefix: list[str] = field(default_factory=list)
    host: str = "localhost"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    @property
    def socket_path(self) -> Path:
        return self.folder / "idp.sock"

    def haven_env(self) -> dict[str, str]:
        return {
            "HAVEN_OIDC_ISSUER": self.issuer,
            "HAVEN_OIDC_CLIENT_ID": CLIENT_ID,
            "HAVEN_OIDC_CLIENT_SECRET": self.client_secret,
            "HAVEN_OIDC_ORGANISATION": ORGANISATION,
            # Every 3 seconds, so a test sees a leaver signed out within seconds.
            "HAVEN_OIDC_RECHECK_MINUTES": "0.05",
        }

    def http(self) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=str(self.socket_path))
        return httpx.Client(transport=transport, base_url=self.base_url)

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "IDP_SECRET_KEY": self.secret_key,
            "IDP_CONTROL_TOKEN": self.control_token,
        }
        log = (self.folder / "idp.log").open("ab")
        command = [PYTHON, "-m", "tests.oidc_provider.serve", str(self.folder / "data")]
        self.process = subprocess.Popen(
            [*self.exec_prefix, *command, str(self.port), str(self.socket_path)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "idp.log").read_text()[-3000:])
            with contextlib.suppress(httpx.HTTPError), self.http() as client:
                if client.get("/o/.well-known/openid-configuration").status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the OpenID provider did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def control(self, action: str, **order: Any) -> dict[str, Any]:
        with self.http() as client:
            response = client.post(
                "/control/",
                json={"action": action, **order},
                headers={"Authorization": f"Bearer {self.control_token}"},
            )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def person(self, username: str, **claims: Any) -> str:
        """A person at the provider (made or changed); returns their subject id."""
        order = {"password": PROVIDER_PASSWORD, "email": f"{username}", **claims}
        return str(self.control("person", username=username, **order)["sub"])


@contextlib.contextmanager
def provider_on_loopback(folder: Path) -> Iterator[Provider]:
    """The provider alone on this machine's loopback, for tests of Haven's views in the
    test process (no live stack)."""
    with socket.socket() as probe:  # a port free on this machine's loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = Provider(folder, port, host="127.0.0.1")
    folder.mkdir(parents=True, exist_ok=True)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@contextlib.contextmanager
def stack_with_provider(folder: Path) -> Iterator[tuple[Stack, Provider]]:
    """A live Haven whose staff may sign in with the test provider, and the provider."""
    provider = Provider(folder / "idp", pick_port())
    provider.folder.mkdir(parents=True)
    (folder / "stack").mkdir()
    with live_stack(folder / "stack", extra_env=provider.haven_env()) as stack:
        provider.exec_prefix = list(stack.namespace.exec_prefix)
        provider.start()
        try:
            provider.control(
                "client",
                client_id=CLIENT_ID,
                client_secret=provider.client_secret,
                redirect_uri=f"{stack.base_url}/accounts/single-sign-on/callback/",
            )
            yield stack, provider
        finally:
            provider.stop()


def authorize(provider: Provider, location: str, username: str) -> str:
    """At the provider: sign in as this person and return where it sends the browser
    back to (Haven's callback with a code and the state)."""
    with provider.http() as client:
        response = client.get(location)
        if response.status_code == 302 and "/login/" in response.headers["location"]:
            login = client.get(response.headers["location"])
            token = flows.CSRF.search(login.text)
            assert token, login.text
            next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
            response = client.post(
                "/login/",
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": username,
                    "password": PROVIDER_PASSWORD,
                    "next": next_url,
                },
            )
            assert response.status_code == 302, response.text
            response = client.get(response.headers["location"])
        assert response.status_code == 302, response.text
        back: str = response.headers["location"]
        return back


def start_sign_in(haven: httpx.Client) -> str:
    """Press "Sign in with your organisation account": where Haven sends the browser."""
    start = haven.get("/accounts/single-sign-on/")
    assert start.status_code == 302, start.text
    location: str = start.headers["location"]
    return location


def sso_sign_in(
    stack: Stack, provider: Provider, username: str, haven: httpx.Client | None = None
) -> tuple[httpx.Client, httpx.Response]:
    """The whole single sign-on: Haven's button, the provider, back to Haven's callback.
    Returns Haven's client and the callback's response."""
    haven = haven or stack.http()
    back = authorize(provider, start_sign_in(haven), username)
    return haven, haven.get(flows.path_of(stack, back))
