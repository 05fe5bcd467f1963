"""Network namespaces for tests with real media.

Test traffic may only go to loopback or to addresses inside a namespace the test run
made itself, and Janus never gathers loopback ICE candidates. So media tests get a fresh
namespace with ``lo`` up and a veth pair hv0 (10.99.0.1/24) / hv1 (10.99.0.2/24), and
everything that talks to Janus runs inside it: subprocesses through ``exec_prefix``, and
Python code through ``run_in_namespace`` (a thread that has joined the namespace).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
ICE_INTERFACE = "hv0"
ADDRESSES = (("hv0", "10.99.0.1/24"), ("hv1", "10.99.0.2/24"))


class NamespaceError(RuntimeError):
    """The test namespace could not be made or entered."""


@dataclass(frozen=True)
class Namespace:
    """A network namespace made for one test (or one test module)."""

    name: str

    @property
    def exec_prefix(self) -> list[str]:
        """Put this before a command to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    @property
    def ice_interface(self) -> str:
        """The interface Janus should gather ICE candidates on."""
        return ICE_INTERFACE

    @property
    def host_address(self) -> str:
        """The address Janus's candidates will carry (on hv0)."""
        return ADDRESSES[0][1].split("/")[0]


_given_ports: set[int] = set()


def pick_port() -> int:
    """A random port for a server inside a fresh namespace, where nothing else holds one.

    Drawn from 10000-19999: below Janus's RTP range (20000-40000) and below Linux's
    ephemeral range (32768-60999), so no client socket or media port can take it. Never
    the same port twice in one test process.
    """
    while True:
        port = random.randint(10000, 19999)
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def _ip(*args: str, namespace: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ["ip", *(["netns", "exec", namespace, "ip"] if namespace else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)


def _require(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise NamespaceError(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")


def _check_can_create() -> None:
    if os.geteuid() != 0:
        raise NamespaceError(
            "media tests need a network namespace of their own, which only root can make: "
            "run them as root"
        )
    if shutil.which("ip") is None:
        raise NamespaceError("the `ip` command is missing: apt-get install iproute2")


def _setup(name: str) -> None:
    _require(_ip("netns", "add", name), f"ip netns add {name}")
    steps = [
        ("link", "set", "lo", "up"),
        ("link", "add", "hv0", "type", "veth", "peer", "name", "hv1"),
        *(("addr", "add", address, "dev", dev) for dev, address in ADDRESSES),
        *(("link", "set", dev, "up") for dev, _ in ADDRESSES),
    ]
    for step in steps:
        _require(_ip(*step, namespace=name), "ip " + " ".join(step))


@contextlib.contextmanager
def split_off(namespace: Namespace, prefix: str, device: str, address: str) -> Iterator[Namespace]:
    """A second namespace holding one end of ``namespace``'s veth pair, as a second host.

    ``device`` (with ``address``, e.g. "10.99.0.2/24") leaves ``namespace`` for a fresh
    namespace (``lo`` up, nothing else), so what runs there is reached over the pair
    itself, as another machine on the same link would be. Made and always removed by the
    test run, like network_namespace; removing it removes the pair from both namespaces.
    """
    _check_can_create()
    name = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        _require(_ip("netns", "add", name), f"ip netns add {name}")
        move = ("link", "set", device, "netns", name)
        _require(_ip(*move, namespace=namespace.name), "ip " + " ".join(move))
        steps = [
            ("link", "set", "lo", "up"),
            ("addr", "add", address, "dev", device),
            ("link", "set", device, "up"),
        ]
        for step in steps:
            _require(_ip(*step, namespace=name), "ip " + " ".join(step))
        yield Namespace(name)
    finally:
        if os.path.exists(os.path.join(NETNS_DIR, name)):
            _teardown(name)


def namespace_pids(name: str) -> list[int]:
    """Processes still running inside the namespace."""
    result = _ip("netns", "pids", name)
    return [int(pid) for pid in result.stdout.split() if pid.isdigit()]


def _kill_all(name: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in namespace_pids(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3
        while namespace_pids(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not namespace_pids(name):
            return


def _teardown(name: str) -> None:
    _kill_all(name)
    # Deleting the namespace also deletes the veth pair that lives in it.
    _require(_ip("netns", "del", name), f"ip netns del {name}")


@contextlib.contextmanager
def network_namespace(prefix: str = "haven") -> Iterator[Namespace]:
    """Make a uniquely named namespace; always kill what runs in it and delete it."""
    _check_can_create()
    name = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        _setup(name)
        yield Namespace(name)
    finally:
        if os.path.exists(os.path.join(NETNS_DIR, name)):
            _teardown(name)


def _enter(name: str) -> None:
    """Move the calling thread (only) into the namespace: setns is per thread."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise NamespaceError(f"setns into {name} failed: {os.strerror(error)}")
    finally:
        os.close(fd)


def run_in_namespace(namespace: Namespace, func: Callable[[], T], timeout: float = 240) -> T:
    """Run ``func()`` in a new thread that has joined ``namespace``; return its result.

    Every socket that thread opens (e.g. an asyncio loop run by ``func``) lives in the
    namespace, so 127.0.0.1 there is the namespace's loopback. The thread ends with
    ``func``, so no pooled thread is ever left inside the namespace.
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            _enter(namespace.name)
            results.append(func())
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{namespace.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NamespaceError(f"code in namespace {namespace.name} ran over {timeout} s")
    if errors:
        raise errors[0]
    return results[0]
