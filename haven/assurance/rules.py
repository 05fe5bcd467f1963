"""The policy rules Haven enforces, and where the evidence for each is.

The compliance evidence page (haven/audit/evidence.py) says in short the rules a meeting
gives evidence for; the rest are said here in the same way (from
shared/design/policy-rules.md). Evidence that the software enforces a rule: the tests in
Haven's source named for it (each test that proves a rule carries its id in its name),
and, for the rules a meeting's records show, each meeting's compliance evidence page.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

from haven.audit.evidence import RULES as MEETING_RULES

OTHER_RULES = {
    "U1": "Only signed-in staff can host; the host is shown with their name, job title and "
    "a staff mark. Attendee names are set by staff, not typed by the attendee.",
    "S4": "Documents are never shared through the meeting: the chat carries text only, links "
    "in it are shown as plain text, and the host sends documents by email.",
    "V1": "Attendees can take part without video: the camera is off by default, and a "
    "person with no camera or no microphone can still join.",
    "D1": "The organisation is the data controller and the operator the data processor; "
    "both are named in the privacy notice.",
    "D2": "Every page and email an attendee sees links to the privacy policy and names the "
    "contact address.",
    "D3": "Every kind of personal data has a retention period from the policy, and is "
    "destroyed automatically when it ends.",
    "D4": "A coordinator can export everything held about one person and erase it, except "
    "what must be kept; both are audited.",
    "P2": "Coordinators and administrators manage the policy, house rules and bans; the "
    "service manager oversees. Each role's permissions are in one table.",
    "P3": "Each meeting type has its own defaults: house rules, maximum attendees, whether "
    "attendees start muted, and how long its chat transcript is kept.",
}

ORDER = "U G S V D P"
ALL_RULES = dict(
    sorted(
        {**MEETING_RULES, **OTHER_RULES}.items(),
        key=lambda item: (ORDER.index(item[0][0]), int(item[0][1:])),
    )
)
TESTS_DIR = Path(settings.BASE_DIR) / "tests"


@dataclass(frozen=True)
class RuleEvidence:
    rule_id: str
    text: str
    tests: list[str]
    in_meeting_evidence: bool


@cache
def _test_names() -> dict[str, list[str]]:
    """Every test function in Haven's tests, by the rule ids its name carries. Read once
    per process; empty when the tests are not installed."""
    found: dict[str, list[str]] = {}
    if not TESTS_DIR.is_dir():
        return found
    ids = "|".join(ALL_RULES)
    pattern = re.compile(rf"(?:^|_)({ids})(?=_|$)")
    for path in sorted(TESTS_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for rule_id in dict.fromkeys(pattern.findall(node.name)):
                    found.setdefault(rule_id, []).append(f"{path.stem}::{node.name}")
    return found


def tests_installed() -> bool:
    return TESTS_DIR.is_dir()


def rule_evidence() -> list[RuleEvidence]:
    """Each rule, what it makes true, and the tests that prove it."""
    names = _test_names()
    return [
        RuleEvidence(rule_id, text, names.get(rule_id, []), rule_id in MEETING_RULES)
        for rule_id, text in ALL_RULES.items()
    ]
