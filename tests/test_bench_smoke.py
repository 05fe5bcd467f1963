"""The benchmark harness still works: `python -m bench --smoke` end to end, tiny sizes.

Timing targets are not checked here (these machines are shared and noisy): only that
every figure is there, is a number, and that the report and its plot are written. The
bench starts its own live stack, as `make bench` does.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.browser

EXPECTED = {
    "page_weight.passcode_page",
    "page_weight.meeting_page",
    "page_weight.attendee_total",
    "page_weight.attendee_total_uncompressed",
    "join.haven_admit_to_first_frame",
    "join.baseline_subscribe_to_first_frame",
    "join.ratio_haven_to_baseline",
    "join.haven_admitted_to_first_frame",
    "join.baseline_connect_to_first_frame",
    "signalling.5.chat_p50",
    "signalling.5.chat_p99",
    "signalling.5.admit_all",
    "signalling.5.errors",
    "memory.5.haven_rss_per_participant",
    "signalling.setup_s",
    "media.1x1.janus_cpu",
    "media.1x1.janus_rss",
    "media.1x1.haven_cpu",
    "failover.freeze_to_media_back",
    "failover.kill_to_media_back",
}


def test_bench_smoke_run_writes_every_figure(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    document = json.loads((tmp_path / "latest.json").read_text())
    assert document["run"]["kind"] == "smoke"
    figures = {figure["name"]: figure for figure in document["figures"]}
    assert set(figures) == EXPECTED
    for figure in figures.values():
        assert set(figure) >= {"name", "value", "unit", "target", "met"}, figure
        assert isinstance(figure["value"], int | float) and math.isfinite(figure["value"]), figure
        assert figure["unit"], figure
        assert figure["target"] is None or isinstance(figure["target"], int | float), figure
        assert "baseline" not in figure or isinstance(figure["baseline"], int | float), figure
    # The join figure is compared with its baseline, measured in the same run.
    assert figures["join.haven_admit_to_first_frame"]["baseline"] > 0
    # A meeting of five: every chat message reached all six people, nothing went wrong.
    assert figures["signalling.5.errors"]["value"] == 0, figures["signalling.5.errors"]
    assert figures["page_weight.meeting_page"]["value"] > 0

    report = (tmp_path / "latest.md").read_text()
    assert "![" in report and "latest.png" in report
    assert "join.ratio_haven_to_baseline" in report
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
