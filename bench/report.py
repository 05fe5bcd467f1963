"""latest.json, latest.md and latest.png from a run's figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.figures import Figure

if TYPE_CHECKING:
    from bench.run import Sizes

# Raw results of the run, kept for the plot.
_raw: dict[str, Any] = {}


def remember(kind: str, data: Any) -> None:
    _raw[kind] = data


def number(value: float, unit: str) -> str:
    """A value as the table shows it: ratios to 2 places, counts whole, the rest to 1."""
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def line(figure: Figure) -> str:
    target = "" if figure.target is None else f" (target <= {figure.target:g})"
    verdict = {None: "", True: " ok", False: " MISSED"}[figure.met]
    baseline = (
        "" if figure.baseline is None else f" [baseline {number(figure.baseline, figure.unit)}]"
    )
    value = number(figure.value, figure.unit)
    return f"{figure.name}: {value} {figure.unit}{baseline}{target}{verdict}"


def write(
    out: Path,
    figures: list[Figure],
    *,
    sizes: Sizes,
    label: str,
    started: dt.datetime,
    load: tuple[float, float, float],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run = {
        "kind": label,
        "started": started.isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in load],
        "sizes": {k: v for k, v in vars(sizes).items()},
    }
    document = {"run": run, "figures": [f.as_json() for f in figures]}
    (out / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    _plot(out / "latest.png")
    (out / "latest.md").write_text(_markdown(figures, run))


def _markdown(figures: list[Figure], run: dict[str, Any]) -> str:
    rows = [
        "| figure | value | target | baseline | met |",
        "|---|---:|---:|---:|---|",
    ]
    for figure in figures:
        target = "" if figure.target is None else f"<= {figure.target:g}"
        baseline = "" if figure.baseline is None else number(figure.baseline, figure.unit)
        met = {None: "", True: "yes", False: "**no**"}[figure.met]
        value = f"{number(figure.value, figure.unit)} {figure.unit}"
        rows.append(f"| `{figure.name}` | {value} | {target} | {baseline} | {met} |")
    missed = [f.name for f in figures if f.met is False]
    return "\n".join(
        [
            f"# Haven benchmarks: {run['kind']} run",
            "",
            f"Started {run['started']} (UTC); load average at the end "
            f"{', '.join(str(x) for x in run['load_average'])} on a shared 2-core machine.",
            "Written by `make bench` (bench/run.py); figures in `latest.json`, what they "
            "mean in `bench/README.md`.",
            "",
            "![Join speed, signalling load, memory, media and page weight](latest.png)",
            "",
            *rows,
            "",
            ("Missed: " + ", ".join(f"`{name}`" for name in missed))
            if missed
            else "All targets met.",
            "",
        ]
    )


def _plot(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    _join_panel(axes[0][0])
    _chat_panel(axes[0][1])
    _admit_panel(axes[0][2])
    _memory_panel(axes[1][0])
    _media_panel(axes[1][1])
    _weight_panel(axes[1][2])
    fig.suptitle("Haven benchmarks (targets dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _not_run(axis: Any, title: str) -> None:
    axis.set_title(title)
    axis.text(0.5, 0.5, "not run", ha="center", va="center", transform=axis.transAxes)
    axis.set_xticks([])
    axis.set_yticks([])


def _join_panel(axis: Any) -> None:
    title = "Join: admit -> first frame (ms)"
    speed = _raw.get("join")
    if speed is None:
        return _not_run(axis, title)
    series = [speed.admit_to_frame_ms, speed.admitted_to_frame_ms, speed.baseline_subscribe_ms]
    labels = [
        "Haven\n(Let in -> frame)",
        "Haven\n(admitted -> frame)",
        "Janus direct\n(subscribe -> frame)",
    ]
    axis.boxplot(series, tick_labels=labels)
    axis.tick_params(axis="x", labelsize=8)
    for number, values in enumerate(series, start=1):
        axis.scatter([number] * len(values), values, s=12, alpha=0.6)
    axis.axhline(400, linestyle="--", color="grey")
    axis.set_title(title)
    axis.set_ylim(bottom=0)
    return None


def _levels() -> list[Any]:
    return list(_raw.get("load") or [])


def _chat_panel(axis: Any) -> None:
    title = "Chat latency to everyone (ms)"
    levels = _levels()
    if not levels:
        return _not_run(axis, title)
    sizes = [lv.size for lv in levels]
    axis.plot(sizes, [lv.chat_p50_ms for lv in levels], "o-", label="p50")
    axis.plot(sizes, [lv.chat_p99_ms for lv in levels], "s-", label="p99")
    axis.plot([200, 500], [50, 150], "k_", markersize=20, label="p99 target")
    axis.set_xlabel("people in the meeting")
    axis.set_title(title)
    axis.legend()
    axis.set_ylim(bottom=0)
    return None


def _admit_panel(axis: Any) -> None:
    title = "Admission storm: admit_all -> all admitted (ms)"
    levels = _levels()
    if not levels:
        return _not_run(axis, title)
    axis.plot([lv.size for lv in levels], [lv.admit_all_ms for lv in levels], "o-")
    axis.plot([200], [2000], "k_", markersize=20, label="target at 200")
    axis.set_xlabel("people admitted at once")
    axis.set_title(title)
    axis.legend()
    axis.set_ylim(bottom=0)
    return None


def _memory_panel(axis: Any) -> None:
    title = "Haven RSS per connected person (KiB)"
    levels = _levels()
    if not levels:
        return _not_run(axis, title)
    sizes = [str(lv.size) for lv in levels]
    axis.bar(sizes, [lv.kb_per_participant for lv in levels])
    axis.axhline(100, linestyle="--", color="grey")
    axis.set_xlabel("people connected")
    axis.set_title(title)
    return None


def _media_panel(axis: Any) -> None:
    title = "Media: CPU while video flows (% of a core)"
    results = _raw.get("media")
    if not results:
        return _not_run(axis, title)
    grids = [f"{m.publishers}x{m.subscribers}" for m in results]
    positions = range(len(grids))
    axis.bar(
        [p - 0.2 for p in positions], [m.janus_cpu_percent for m in results], 0.4, label="Janus"
    )
    axis.bar(
        [p + 0.2 for p in positions], [m.haven_cpu_percent for m in results], 0.4, label="Haven"
    )
    axis.set_xticks(list(positions), grids)
    axis.set_xlabel("senders x watchers")
    axis.set_title(title)
    axis.legend()
    return None


def _weight_panel(axis: Any) -> None:
    title = "Attendee page weight (KiB of JS + CSS)"
    weights = _raw.get("page_weight")
    if weights is None:
        return _not_run(axis, title)
    names = ["passcode page", "meeting page", "both (cached)"]
    positions = range(len(names))
    sent = [weights.passcode.transferred, weights.meeting.transferred, weights.total]
    parsed = [
        weights.passcode.uncompressed,
        weights.meeting.uncompressed,
        weights.total_uncompressed,
    ]
    axis.bar([p - 0.2 for p in positions], [b / 1024 for b in sent], 0.4, label="transferred")
    axis.bar([p + 0.2 for p in positions], [b / 1024 for b in parsed], 0.4, label="uncompressed")
    axis.set_xticks(list(positions), names)
    axis.axhline(100, linestyle="--", color="grey")
    axis.set_title(title)
    axis.legend()
    return None
