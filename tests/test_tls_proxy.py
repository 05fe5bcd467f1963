"""deploy/nginx/haven.conf in front of a Haven with production settings, over TLS.

Debian's nginx runs the deploy file itself, with only ports and paths changed, inside the
test namespace, unprivileged ports, its own prefix for pid, logs and temp files, and a
self-signed certificate made here. A second Haven process (HAVEN_BASE_URL=https://...,
collected static files) shares the live stack's database and Janus. Every client call
runs inside the namespace, where nginx listens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookiejar import Cookie
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.harness import flows, totp
from tests.harness.netns import ADDRESSES, pick_port, run_in_namespace
from tests.harness.stack import PYTHON, ROOT, Stack, StackError

T = TypeVar("T")
DEPLOY_CONFIG = ROOT / "deploy" / "nginx" / "haven.conf"
# The second veth address: a client there is "another machine" to nginx and Haven.
SCRAPER_ADDRESS = ADDRESSES[1][1].split("/")[0]


@dataclass
class Proxy:
    stack: Stack
    tls_port: int
    http_port: int
    haven_port: int
    static: Path
    certificate: Path
    env: dict[str, str]

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.tls_port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))

    def client(self, **options) -> httpx.Client:
        # Django checks a form's Origin over HTTPS; a browser sends its own.
        headers = {"Origin": self.origin, **options.pop("headers", {})}
        return httpx.Client(
            base_url=self.origin, verify=self.ssl_context(), headers=headers, timeout=20, **options
        )

    def inside(self, func: Callable[[], T]) -> T:
        return run_in_namespace(self.stack.namespace, func, timeout=60)


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def render(config: str, replacements: dict[str, str]) -> str:
    """The deploy file with test ports and paths; each replaced text must be in it."""
    for old, new in replacements.items():
        assert old in config, f"deploy/nginx/haven.conf no longer has {old!r}"
        config = config.replace(old, new)
    return config


def _nginx_conf(prefix: Path, site: Path) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/tmp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # What Debian's /etc/nginx/nginx.conf gives every site, at a temporary prefix.
    return f"""
user www-data;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
{temp}
    include {site};
}}
"""


def _wait_for(proxy: Proxy, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    def attempt() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        return False

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if proxy.inside(attempt):
            return
        time.sleep(0.1)
    raise StackError(f"nothing listens on port {port}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[Proxy]:
    # Under /tmp and world-readable: nginx's workers run as www-data.
    base = Path(tempfile.mkdtemp(prefix="haven-tls-"))
    base.chmod(0o755)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield _start(stack, base, processes)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(base, ignore_errors=True)


def _start(stack: Stack, base: Path, processes: list[subprocess.Popen[bytes]]) -> Proxy:
    tls_port, http_port, haven_port = pick_port(), pick_port(), pick_port()
    env = {
        **stack.env,
        "HAVEN_BASE_URL": f"https://localhost:{tls_port}",
        "HAVEN_ALLOWED_HOSTS": "localhost",
        "HAVEN_DATA_DIR": str(base),
        **stack.db.env,
        "HAVEN_STATIC_FROM_SOURCE": "false",
        "HAVEN_MEDIA_REQUEST_LOG": str(stack.folder / "media-requests-tls.log"),
        "HAVEN_METRICS_ALLOWED_ADDRESSES": SCRAPER_ADDRESS,
    }
    env.pop("HAVEN_METRICS_TOKEN")
    collect = subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert collect.returncode == 0, collect.stderr
    nginx_dir = base / "nginx"
    (nginx_dir / "tmp").mkdir(parents=True)
    certificate, key = _certificate(nginx_dir)
    proxy = Proxy(stack, tls_port, http_port, haven_port, base / "static", certificate, env)

    site = nginx_dir / "haven.conf"
    site.write_text(
        render(
            DEPLOY_CONFIG.read_text(),
            {
                "listen 80;": f"listen {http_port};",
                "listen [::]:80;": "",
                "listen 443 ssl http2;": f"listen {tls_port} ssl http2;",
                "listen [::]:443 ssl http2;": "",
                "server_name haven.example.org;": "server_name localhost;",
                "/etc/letsencrypt/live/haven.example.org/fullchain.pem": str(certificate),
                "/etc/letsencrypt/live/haven.example.org/privkey.pem": str(key),
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{haven_port};",
                "/var/lib/haven/static/": f"{proxy.static}/",
                "/var/log/nginx/haven.access.log": str(nginx_dir / "access.log"),
                "root /var/www/html;": f"root {nginx_dir / 'acme'};",
            },
        )
    )
    conf = nginx_dir / "nginx.conf"
    conf.write_text(_nginx_conf(nginx_dir, site))
    nginx = ["nginx", "-p", f"{nginx_dir}/", "-c", str(conf), "-e", str(nginx_dir / "error.log")]
    checked = subprocess.run(
        [*nginx, "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr

    haven_log = stack.folder / "haven-tls.log"
    with haven_log.open("ab") as output:
        command = [PYTHON, "manage.py", "serve", "--no-janus", f"--port={haven_port}"]
        processes.append(
            subprocess.Popen(
                [*stack.namespace.exec_prefix, *command],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        )
    _wait_for(proxy, haven_port, processes[-1], haven_log)
    with (nginx_dir / "nginx.out").open("ab") as output:
        processes.append(
            subprocess.Popen(
                [*stack.namespace.exec_prefix, *nginx, "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        )
    _wait_for(proxy, tls_port, processes[-1], nginx_dir / "error.log")
    return proxy


def test_the_deploy_config_fits_havens_limits_and_routes():
    from haven.room.routing import websocket_urlpatterns  # Django must be set up first

    config = DEPLOY_CONFIG.read_text()
    size = re.search(r"client_max_body_size (\d+)m;", config)
    assert size and int(size.group(1)) * 1024 * 1024 >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # A document the host emails (S4) fits, and is never buffered to disk on the way.
    assert int(size.group(1)) * 1024 * 1024 >= settings.HAVEN_DOCUMENT_MAX_BYTES + 1024 * 1024
    assert "proxy_request_buffering off;" in config
    # Every socket route is under /ws/ (the last, catch-all one refuses the rest with 404).
    *routes, catch_all = websocket_urlpatterns
    assert all(str(pattern.pattern).startswith("ws/") for pattern in routes)
    assert str(catch_all.pattern) == ""
    assert "location /ws/ {" in config
    assert "$remote_addr" not in config.split("log_format", 1)[1].split(";", 1)[0]


def test_pages_come_over_https_with_hsts_and_secure_cookies(proxy):
    def fetch():
        with proxy.client() as client:
            home = client.get("/")
            login = client.get("/accounts/login/")
            return home, login

    home, login = proxy.inside(fetch)
    assert home.status_code == 200, home.text
    assert home.http_version == "HTTP/1.1"
    assert home.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["server"] == "nginx"  # no version
    csrf = login.headers["set-cookie"]
    assert "csrftoken=" in csrf and "Secure" in csrf and "HttpOnly" in csrf


@dataclass
class SignedIn:
    password_step: httpx.Response
    session_cookies: list[Cookie]
    cookie_header: str
    meeting_id: str


@pytest.fixture(scope="module")
def host(proxy) -> SignedIn:
    """A host who signed in over TLS, both steps, and scheduled a meeting."""
    address = flows.unique_email("tls-host")
    password = proxy.stack.create_staff(address)

    def sign_in() -> SignedIn:
        with proxy.client() as client:
            response = flows.post_form(
                client, "/accounts/login/", {"username": address, "password": password}
            )
            session = [cookie for cookie in client.cookies.jar if cookie.name == "sessionid"]
            flows.post_form(client, "/accounts/two-factor/", {"code": totp.fresh_code(address)})
            meeting_id = flows.create_meeting(client)
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return SignedIn(response, session, cookie, meeting_id)

    return proxy.inside(sign_in)


def test_staff_sign_in_sets_a_secure_session_cookie(host):
    assert host.password_step.status_code == 302, host.password_step.text
    assert host.session_cookies and all(cookie.secure for cookie in host.session_cookies)
    assert "HttpOnly" in host.password_step.headers["set-cookie"]


def test_plain_http_is_sent_to_https(proxy):
    def fetch():
        with httpx.Client(timeout=20) as client:
            return client.get(f"http://localhost:{proxy.http_port}/join/abc/?x=1")

    response = proxy.inside(fetch)
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/join/abc/?x=1"
    # nginx's access log has the path's first part only: never a link token, nor an address.
    log = (proxy.static.parent / "nginx" / "access.log").read_text()
    assert " GET /join 301 " in log
    assert "abc" not in log and "127.0.0.1" not in log


def test_static_files_come_from_nginx_compressed_and_revalidated(proxy):
    # Written after Haven started: only nginx, reading the folder, can serve it.
    (proxy.static / "haven" / "only-nginx.txt").write_text("served from disk\n")

    def fetch():
        with proxy.client(headers={"Accept-Encoding": "gzip"}) as client:
            marker = client.get("/static/haven/only-nginx.txt")
            script = client.get("/static/haven/js/protocol.js")
            again = client.get(
                "/static/haven/js/protocol.js",
                headers={"If-None-Match": script.headers["etag"]},
            )
            return marker, script, again

    marker, script, again = proxy.inside(fetch)
    assert marker.status_code == 200 and marker.text == "served from disk\n"
    assert script.status_code == 200
    assert script.headers["content-type"] == "application/javascript"
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["cache-control"] == "public, no-cache"
    assert script.headers["strict-transport-security"].startswith("max-age=31536000")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert again.status_code == 304


def test_ASVS_4_4_2_the_meeting_websocket_over_tls_checks_the_origin(proxy, host):
    uri = f"wss://localhost:{proxy.tls_port}/ws/meetings/{host.meeting_id}/"

    def meeting() -> tuple[str, str, list[int]]:
        refused = []
        for origin in ("https://evil.example", f"http://localhost:{proxy.tls_port}"):
            try:
                connect(
                    uri,
                    ssl=proxy.ssl_context(),
                    additional_headers={"Cookie": host.cookie_header, "Origin": origin},
                    open_timeout=30,  # at a load of 8 on 2 cores, 10 s was once too little
                ).close()
            except InvalidStatus as error:
                refused.append(error.response.status_code)
        with connect(
            uri,
            ssl=proxy.ssl_context(),
            additional_headers={"Cookie": host.cookie_header, "Origin": proxy.origin},
            open_timeout=10,
        ) as ws:
            ws.send(json.dumps({"type": "hello", "protocol": 1}))
            welcome = json.loads(ws.recv(timeout=10))["type"]
            ws.send(json.dumps({"type": "join", "private_place_confirmed": True}))
            joined = json.loads(ws.recv(timeout=10))["type"]
        return welcome, joined, refused

    welcome, joined, refused = proxy.inside(meeting)
    assert (welcome, joined) == ("welcome", "joined")
    assert refused == [403, 403]


def test_metrics_only_for_the_allowed_address_even_behind_the_proxy(proxy):
    def scrape(local_address: str | None, headers: dict[str, str]) -> httpx.Response:
        transport = httpx.HTTPTransport(verify=proxy.ssl_context(), local_address=local_address)
        with proxy.client(transport=transport) as client:
            return client.get("/metrics", headers=headers)

    def scrapes():
        return (
            scrape(None, {}),
            # nginx sets X-Forwarded-For itself: a client cannot pass for the scraper.
            scrape(None, {"X-Forwarded-For": SCRAPER_ADDRESS}),
            scrape(SCRAPER_ADDRESS, {}),
        )

    local, spoofed, scraper = proxy.inside(scrapes)
    assert local.status_code == 404 and spoofed.status_code == 404
    assert scraper.status_code == 200, scraper.text
    assert "haven_meetings_open" in scraper.text


def test_probes_answer_through_the_proxy_without_limits(proxy):
    def probe():
        with proxy.client() as client:
            return [
                client.get(path).status_code for _ in range(100) for path in ("/healthz", "/readyz")
            ]

    assert set(proxy.inside(probe)) == {200}

    def pages():
        with proxy.client() as client:
            return [client.get("/").status_code for _ in range(100)]

    # Pages are limited (a burst of 60), which is what the probes are exempt from.
    assert set(proxy.inside(pages)) == {200, 429}


def test_probes_can_also_ask_haven_directly_over_plain_http(proxy):
    """Not redirected to HTTPS (SECURE_REDIRECT_EXEMPT), unlike every page."""

    def fetch():
        base = f"http://127.0.0.1:{proxy.haven_port}"
        with httpx.Client(base_url=base, headers={"Host": "localhost"}, timeout=20) as client:
            return client.get("/healthz"), client.get("/readyz"), client.get("/accounts/login/")

    health, ready, page = proxy.inside(fetch)
    assert health.status_code == 200 and ready.status_code == 200, ready.text
    assert page.status_code == 301
    assert page.headers["location"] == "https://localhost/accounts/login/"
