"""What the automated accessibility checks of the last test run found (issue 19).

Haven's browser tests run axe-core on each page state they check and append the result
to a JSON file (tests/harness/browser.py, `axe_violations`); HAVEN_AXE_RESULTS says where
the statement reads it. Its shape:

    {"runs": [{"run": "...", "started_at": "ISO time", "checks": [
        {"at": "ISO time", "page": "/staff/", "title": "...", "passed": 41,
         "violations": [{"id": "...", "impact": "...", "help": "...", "nodes": 1}]}]}]}

Nothing here guesses: no file, or a file that is not of this shape, is said plainly.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class PageCheck:
    page: str
    title: str
    passed: int
    violations: list[dict[str, Any]]


@dataclass(frozen=True)
class TestRun:
    run: str
    started_at: dt.datetime
    checks: list[PageCheck]

    @property
    def pages(self) -> list[str]:
        return list(dict.fromkeys(check.page for check in self.checks))

    @property
    def violation_count(self) -> int:
        return sum(len(check.violations) for check in self.checks)

    def by_page(self) -> list[tuple[str, str, int, int]]:
        """Each page checked: its title, how many states of it were checked, and how many
        failures they had."""
        pages: dict[str, list[PageCheck]] = {}
        for check in self.checks:
            pages.setdefault(check.page, []).append(check)
        return [
            (page, checks[0].title, len(checks), sum(len(c.violations) for c in checks))
            for page, checks in pages.items()
        ]

    def issues(self) -> list[tuple[str, str, list[str]]]:
        """Each distinct violation (rule id, what it is), with the pages it was found on."""
        found: dict[tuple[str, str], list[str]] = {}
        for check in self.checks:
            for violation in check.violations:
                key = (str(violation.get("id", "")), str(violation.get("help", "")))
                found.setdefault(key, [])
                if check.page not in found[key]:
                    found[key].append(check.page)
        return [(rule, text, pages) for (rule, text), pages in found.items()]


@dataclass(frozen=True)
class Artefact:
    path: Path
    run: TestRun | None
    problem: str  # why there is no run to report, in words; empty when there is one


def results_path() -> Path:
    return Path(settings.HAVEN_AXE_RESULTS)


def last_run(path: Path | None = None) -> Artefact:
    """The newest test run in the artefact, or why there is none."""
    path = path or results_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs = [_run(raw) for raw in data["runs"]]
    except FileNotFoundError:
        return Artefact(path, None, "There is no record of an automated test run here.")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Artefact(path, None, f"The record of the test runs cannot be read ({exc}).")
    runs = [run for run in runs if run.checks]
    if not runs:
        return Artefact(path, None, "The record of the test runs holds no checked page.")
    return Artefact(path, max(runs, key=lambda run: run.started_at), "")


def _run(raw: dict[str, Any]) -> TestRun:
    started = dt.datetime.fromisoformat(str(raw["started_at"]))
    if started.tzinfo is None:
        raise ValueError("a run's started_at has no time zone")
    checks = [
        PageCheck(
            str(check["page"]),
            str(check.get("title", "")),
            int(check.get("passed", 0)),
            [dict(violation) for violation in check["violations"]],
        )
        for check in raw["checks"]
    ]
    return TestRun(str(raw["run"]), started, checks)
