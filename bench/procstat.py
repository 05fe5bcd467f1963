"""CPU time and resident memory of a process, read from /proc (Linux only)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class Sample:
    """One reading of a process: when, CPU seconds used so far, resident memory."""

    at: float
    cpu_seconds: float
    rss_kb: int


def sample(pid: int) -> Sample:
    """Read /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return Sample(time.monotonic(), (utime + stime) / TICKS_PER_SECOND, rss_kb(pid))


def rss_kb(pid: int) -> int:
    """Resident memory in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_percent(before: Sample, after: Sample) -> float:
    """CPU used between two samples, as a percentage of one core."""
    wall = after.at - before.at
    if wall <= 0:
        return 0.0
    return 100.0 * (after.cpu_seconds - before.cpu_seconds) / wall


def command_line(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
