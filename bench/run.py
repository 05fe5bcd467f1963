"""Run every benchmark against one live stack and write bench/results/latest.*.

python -m bench             # the full run (make bench), for people
python -m bench --smoke     # tiny sizes, for CI (tests/test_bench_smoke.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import (
    browser_runs,
    failover,
    page_weight,
    people,
    procstat,
    profiling,
    report,
    signalling,
)
from bench.figures import Figure
from tests.harness.stack import Stack, live_stack

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    join_runs: int
    join_warmups: int
    load_levels: tuple[int, ...]
    chat_messages: int
    chat_interval_s: float
    media_grids: tuple[tuple[int, int], ...]
    media_window_s: float
    failover_runs: int


FULL = Sizes(
    join_runs=20,
    join_warmups=1,
    load_levels=(50, 200, 500),
    chat_messages=20,
    chat_interval_s=0.25,
    media_grids=((2, 2), (3, 3)),
    media_window_s=10.0,
    failover_runs=3,
)
SMOKE = Sizes(
    join_runs=1,
    join_warmups=0,
    load_levels=(5,),
    chat_messages=5,
    chat_interval_s=0.05,
    media_grids=((1, 1),),
    media_window_s=1.0,
    failover_runs=1,
)

# Targets from issue 8, by figure and size. A size with no target has None.
CHAT_P99_TARGET_MS = {200: 50.0, 500: 150.0}
ADMIT_ALL_TARGET_MS = {200: 2000.0}
JOIN_TARGET_MS = 400.0
JOIN_RATIO_TARGET = 1.25
MEMORY_TARGET_KB = 100.0
PAGE_WEIGHT_TARGET_KB = 100.0
# "Media never passes through Python": Haven should stay near zero.
HAVEN_MEDIA_CPU_TARGET = 5.0


def haven_pid(stack: Stack) -> int:
    for process in stack.processes:
        if "serve" in procstat.command_line(process.pid):
            return process.pid
    raise RuntimeError("the Haven server process was not found")


def janus_pid(stack: Stack) -> int:
    pid = stack.janus_process.pid if stack.janus_process else None
    if pid is None:
        raise RuntimeError("Janus is not running")
    return pid


def page_weight_figures(stack: Stack, host: people.Host, sizes: Sizes) -> list[Figure]:
    weights = page_weight.measure(stack, host)
    report.remember("page_weight", weights)
    kb = 1024
    passcode, meeting = weights.passcode, weights.meeting

    def bill(weight: page_weight.Weight) -> str:
        encodings = sorted(set(weight.encodings.values()))
        return (
            f"transferred: JS {weight.js_wire} B, CSS {weight.css_wire} B "
            f"({'/'.join(encodings) or 'none'}); uncompressed: JS {weight.js} B, "
            f"CSS {weight.css} B; "
            + ", ".join(
                f"{name} {weight.files_wire[name]}/{size}"
                for name, size in sorted(weight.files.items())
            )
        )

    return [
        Figure(
            "page_weight.passcode_page",
            passcode.transferred / kb,
            "KiB",
            notes="transferred (headers + body as sent), no cache; " + bill(passcode),
        ),
        Figure(
            "page_weight.meeting_page",
            meeting.transferred / kb,
            "KiB",
            PAGE_WEIGHT_TARGET_KB,
            notes="transferred (headers + body as sent), no cache; " + bill(meeting),
        ),
        Figure(
            "page_weight.attendee_total",
            weights.total / kb,
            "KiB",
            PAGE_WEIGHT_TARGET_KB,
            notes="transferred, each file once over both pages (a browser cache loads "
            "shared CSS once)",
        ),
        Figure(
            "page_weight.attendee_total_uncompressed",
            weights.total_uncompressed / kb,
            "KiB",
            notes="the same files decoded: what the browser parses",
        ),
    ]


def join_figures(stack: Stack, host: people.Host, sizes: Sizes) -> list[Figure]:
    with profiling.phase(haven_pid(stack), "join"):
        speed = browser_runs.join_speed(stack, host, sizes.join_runs, sizes.join_warmups)
    median = browser_runs.median
    haven, baseline = median(speed.admit_to_frame_ms), median(speed.baseline_subscribe_ms)
    runs = f"{len(speed.admit_to_frame_ms)} runs"
    report.remember("join", speed)
    return [
        Figure(
            "join.haven_admit_to_first_frame",
            haven,
            "ms",
            JOIN_TARGET_MS,
            baseline,
            f"median of {runs}: host presses Let in -> attendee's first decoded remote frame",
        ),
        Figure(
            "join.baseline_subscribe_to_first_frame",
            baseline,
            "ms",
            notes=f"median of {runs}: a page on Janus's own API starts subscribing -> first frame",
        ),
        Figure(
            "join.ratio_haven_to_baseline",
            haven / baseline,
            "ratio",
            JOIN_RATIO_TARGET,
            1.0,
            "Haven's median over the baseline's, measured by turns in the same run",
        ),
        Figure(
            "join.haven_admitted_to_first_frame",
            median(speed.admitted_to_frame_ms),
            "ms",
            notes="median: the attendee's page gets `admitted` -> first decoded remote frame",
        ),
        Figure(
            "join.baseline_connect_to_first_frame",
            median(speed.baseline_connect_ms),
            "ms",
            notes="median: the baseline page opens Janus's socket, joins, subscribes -> frame",
        ),
    ]


def load_figures(stack: Stack, host: people.Host, sizes: Sizes) -> list[Figure]:
    pid = haven_pid(stack)
    meeting_id = people.new_meeting(host, "Signalling load")
    made = time.monotonic()
    everyone = people.attendees(stack, host, meeting_id, max(sizes.load_levels))
    setup_s = time.monotonic() - made

    async def all_levels() -> list[signalling.LevelResult]:
        run = signalling.LoadRun(stack, pid, host, meeting_id)
        await run.start()
        try:
            return [
                await run.level(everyone[:size], sizes.chat_messages, sizes.chat_interval_s)
                for size in sizes.load_levels
            ]
        finally:
            await run.stop()

    levels = asyncio.run(all_levels())
    report.remember("load", levels)
    figures = []
    for level in levels:
        n = level.size
        figures += [
            Figure(
                f"signalling.{n}.chat_p50",
                level.chat_p50_ms,
                "ms",
                notes=f"{level.chat_messages} messages x {n + 1} receivers "
                f"({level.deliveries} deliveries); max {level.chat_max_ms:.1f} ms",
            ),
            Figure(f"signalling.{n}.chat_p99", level.chat_p99_ms, "ms", CHAT_P99_TARGET_MS.get(n)),
            Figure(
                f"signalling.{n}.admit_all",
                level.admit_all_ms,
                "ms",
                ADMIT_ALL_TARGET_MS.get(n),
                notes=f"host sends admit_all -> the last of {n} has `admitted`; "
                f"arriving took {level.connect_s:.1f} s",
            ),
            Figure(
                f"signalling.{n}.errors",
                float(level.errors),
                "count",
                0.0,
                notes="; ".join(level.error_samples),
            ),
            Figure(
                f"memory.{n}.haven_rss_per_participant",
                level.kb_per_participant,
                "KiB",
                MEMORY_TARGET_KB,
                notes=f"Haven's RSS (KiB): {level.rss_before_kb} before {n} connected, "
                f"{level.rss_waiting_kb} with all waiting, {level.rss_after_kb} with all "
                f"admitted, {level.rss_after_chat_kb} after the chat",
            ),
        ]
    figures.append(
        Figure(
            "signalling.setup_s",
            setup_s,
            "s",
            notes=f"inviting {max(sizes.load_levels)} people and entering their passcodes "
            "over HTTP (two Argon2 hashes each)",
        )
    )
    return figures


def media_figures(stack: Stack, host: people.Host, sizes: Sizes) -> list[Figure]:
    figures = []
    results = []
    for publishers, subscribers in sizes.media_grids:
        media = browser_runs.media_load(
            stack,
            host,
            (haven_pid(stack), janus_pid(stack)),
            publishers,
            subscribers,
            sizes.media_window_s,
        )
        results.append(media)
        grid = f"{publishers}x{subscribers}"
        streams = f"{publishers} sending, {subscribers} only watching"
        figures += [
            Figure(
                f"media.{grid}.janus_cpu",
                media.janus_cpu_percent,
                "% of a core",
                notes=f"{streams}; over {media.window_s:.0f} s",
            ),
            Figure(
                f"media.{grid}.janus_rss",
                media.janus_rss_kb / 1024,
                "MiB",
                notes=f"idle before the meeting: {media.janus_idle_rss_kb / 1024:.1f} MiB",
            ),
            Figure(
                f"media.{grid}.haven_cpu",
                media.haven_cpu_percent,
                "% of a core",
                HAVEN_MEDIA_CPU_TARGET,
                notes="media goes browser <-> Janus; Haven only relays signalling",
            ),
        ]
    report.remember("media", results)
    return figures


def failover_figures(stack: Stack, host: people.Host, sizes: Sizes) -> list[Figure]:
    # On a stack of its own with two Janus servers: the shared stack has one.
    result = failover.measure(sizes.failover_runs)
    report.remember("failover", result)
    runs = f"median of {sizes.failover_runs} run(s)"
    return [
        Figure(
            "failover.freeze_to_media_back",
            failover.median(result.freeze_ms),
            "ms",
            failover.TARGET_MS,
            notes=f"{runs}: the meeting's Janus frozen (SIGSTOP) -> both pages decode video "
            f"and audio again on the other; each: {_ms_list(result.freeze_ms)}",
        ),
        Figure(
            "failover.kill_to_media_back",
            failover.median(result.kill_ms),
            "ms",
            failover.TARGET_MS,
            notes=f"{runs}: the meeting's Janus killed (SIGKILL) -> both pages decode video "
            f"and audio again on the other; each: {_ms_list(result.kill_ms)}",
        ),
    ]


def _ms_list(values: list[float]) -> str:
    return ", ".join(f"{value:.0f}" for value in values) + " ms"


STEPS: dict[str, Callable[[Stack, people.Host, Sizes], list[Figure]]] = {
    "page_weight": page_weight_figures,
    "join": join_figures,
    "load": load_figures,
    "media": media_figures,
    "failover": failover_figures,
}


def run(sizes: Sizes, out: Path, only: list[str], label: str, keep: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    started = dt.datetime.now(dt.UTC)
    with contextlib.ExitStack() as cleanup:
        if keep:
            folder = tempfile.mkdtemp(prefix="haven-bench-")
            print(f"bench: the stack's folder (logs, database) is kept: {folder}", flush=True)
        else:
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="haven-bench-"))
        stack = cleanup.enter_context(live_stack(Path(folder), collected_static=True))
        people.make_room_for(stack, max(sizes.load_levels))
        host = people.new_host(stack)
        for name, step in STEPS.items():
            if only and name not in only:
                continue
            began = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            new = step(stack, host, sizes)
            figures += new
            print(f"bench: {name} took {time.monotonic() - began:.0f} s", flush=True)
            for figure in new:
                print(f"  {report.line(figure)}", flush=True)
    report.write(out, figures, sizes=sizes, label=label, started=started, load=os.getloadavg())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for latest.*")
    parser.add_argument(
        "--only", action="append", choices=sorted(STEPS), default=[], help="run only these"
    )
    parser.add_argument("--levels", help="signalling load sizes, e.g. 50,200 (for profiling)")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    parser.add_argument("--profile", type=Path, help="py-spy Haven in each load phase, here")
    args = parser.parse_args(argv)
    if args.profile:
        profiling.enable(args.profile)
    sizes = SMOKE if args.smoke else FULL
    if args.levels:
        levels = tuple(int(size) for size in args.levels.split(","))
        sizes = dataclasses.replace(sizes, load_levels=levels)
    run(sizes, args.out, args.only, "smoke" if args.smoke else "full", args.keep)
    return 0
