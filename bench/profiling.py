"""Optional: record where Haven spends its time during a phase, with py-spy.

`python -m bench --profile DIR` writes one py-spy file per phase (collapsed stacks,
which `bench/profiling.py top FILE` summarises, or any flame-graph tool reads).
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

_folder: Path | None = None


def enable(folder: Path) -> None:
    global _folder
    if _spy() is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    _folder = folder


def _spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def phase(pid: int, name: str) -> Iterator[None]:
    """Sample the process (all threads, idle ones left out) while the block runs."""
    if _folder is None:
        yield
        return
    spy = _spy()
    assert spy is not None
    output = _folder / f"{name}.txt"
    command = [spy, "record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
    process = subprocess.Popen(
        [*command, "--format", "raw", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def top(path: Path, count: int = 25) -> str:
    """The functions that were on the stack in the most samples (inclusive)."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(samples)
    rows = [
        f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in inclusive.most_common(count)
    ]
    return f"{total} samples\n" + "\n".join(rows)


if __name__ == "__main__":
    print(top(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 25))
