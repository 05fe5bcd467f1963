"""The assurance pack's documents (issue 19) as Haven makes them, on Django's test
database: they follow the policy data, say what they were made from, mark earlier drafts
out of date, and leave what only people can answer as marked blanks.

The pages in a real browser (P2, axe, A4 print) are in tests/test_assurance_browser.py.
"""

import io
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from pypdf import PdfReader

from haven.accounts.models import RoleGrant, SingleSignOn, User
from haven.accounts.permissions import Permission, StaffRole, permissions_for
from haven.assurance import accessibility, documents, pdf, rules
from haven.assurance.drafts import draft_for, drafts_of
from haven.assurance.models import GeneratedDraft
from haven.assurance.pack import current_inputs, make_document
from haven.assurance.views import standalone_html
from haven.audit.models import AuditEvent
from haven.policy.loader import DEFAULT_POLICY_FILE, RETENTION_FIELDS, load_policy
from haven.policy.models import Organisation, PolicyVersion

BLANK = "To be completed by the organisation"
Kind = GeneratedDraft.Kind


def _coordinator(organisation: Organisation) -> User:
    user = User.objects.create_user(
        email="coord@example.org",
        full_name="Chris Lee",
        job_title="Digital coordinator",
        organisation=organisation,
    )
    RoleGrant.objects.create(user=user, role=StaffRole.COORDINATOR)
    return user


def _text(organisation: Organisation, kind: str, user: User) -> str:
    """The document as its page shows it, tags taken out and spaces folded."""
    document = make_document(organisation, kind)
    draft = draft_for(organisation, kind, document.inputs, user)
    html = render_to_string(
        "assurance/_document.html", {"document": document, "draft": draft, **document.facts}
    )
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _publish(tmp_path: Path, version: str, **retention: int) -> PolicyVersion:
    """A new version of the policy file, with these retention periods changed."""
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    text = text.replace('version = "V.01"', f'version = "{version}"', 1)
    for key, days in retention.items():
        text, changed = re.subn(rf"(?m)^{key} = \d+$", f"{key} = {days}", text, count=1)
        assert changed == 1, key
    path = tmp_path / f"{version}.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.mark.django_db
def test_the_DPIA_and_the_record_of_processing_follow_a_new_retention_period(tmp_path):
    policy = load_policy()
    organisation = policy.organisation
    coordinator = _coordinator(organisation)
    assert policy.retain_consents_days == 365
    before = {kind: _text(organisation, kind, coordinator) for kind in (Kind.DPIA, Kind.RECORD)}
    for text in before.values():
        assert (
            "Agreements to the house rules, and who supervises 365 days after the meeting" in text
        )
        assert "Made from policy version V.01" in text

    _publish(tmp_path, "V.02", consents_days=200, access_needs_days=20)

    for kind in (Kind.DPIA, Kind.RECORD):
        text = _text(organisation, kind, coordinator)
        assert (
            "Agreements to the house rules, and who supervises 200 days after the meeting" in text
        )
        assert "Access needs given with a consent 20 days after the meeting" in text
        assert "365 days after the meeting" in before[kind]
        assert "Made from policy version V.02" in text
        assert "(policy V.02)" in text and "(policy V.01)" not in text


@pytest.mark.django_db
def test_a_new_policy_version_marks_the_earlier_drafts_out_of_date_and_says_why(tmp_path):
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    first = {kind: _draft(organisation, kind, coordinator) for kind in Kind}
    # The same inputs again: the same draft, not a new one.
    assert _draft(organisation, Kind.DPIA, coordinator) == first[Kind.DPIA]
    assert all(state.current for state in drafts_of(organisation, current_inputs(organisation)))

    _publish(tmp_path, "V.02", removals_days=90)

    states = {s.draft.pk: s for s in drafts_of(organisation, current_inputs(organisation))}
    for draft in first.values():
        assert not states[draft.pk].current
        assert states[draft.pk].changes == [
            "The policy version changed from V.01 to V.02.",
            "Retention periods changed: removals days.",
        ]
    again = _draft(organisation, Kind.RECORD, coordinator)
    assert again.pk != first[Kind.RECORD].pk
    assert again.inputs["policy_version"] == "V.02"
    assert again.inputs["retention"]["retain_removals_days"] == 90
    states = {s.draft.pk: s for s in drafts_of(organisation, current_inputs(organisation))}
    assert states[again.pk].current
    # Each new draft is audited, with who made it.
    made = AuditEvent.objects.filter(action="assurance.drafted")
    assert made.count() == len(Kind) + 1
    assert {event.actor_user for event in made} == {coordinator}


def _draft(organisation: Organisation, kind: str, user: User) -> GeneratedDraft:
    return draft_for(organisation, kind, make_document(organisation, kind).inputs, user)


@pytest.mark.django_db
def test_a_changed_configuration_or_transcript_retention_marks_drafts_out_of_date(tmp_path):
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    draft = _draft(organisation, Kind.SECURITY, coordinator)
    with override_settings(HAVEN_SIGNIN_FAILURE_LIMIT=3, AXES_FAILURE_LIMIT=3):
        [state] = drafts_of(organisation, current_inputs(organisation))
        assert state.changes == ["Haven's configuration changed."]
        assert "After 3 wrong passwords or codes" in _text(organisation, Kind.SECURITY, coordinator)
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace('"V.01"', '"V.03"', 1)
    text = text.replace("transcript_retention_days = ", "transcript_retention_days = 1", 1)
    (tmp_path / "v3.toml").write_text(text, encoding="utf-8")
    load_policy(tmp_path / "v3.toml")
    states = [s for s in drafts_of(organisation, current_inputs(organisation)) if s.draft == draft]
    assert "Retention periods changed: transcripts of one to one meetings." in states[0].changes


@pytest.mark.django_db
def test_every_document_states_its_policy_configuration_code_version_and_date():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    for kind in Kind:
        document = make_document(organisation, kind)
        text = _text(organisation, kind, coordinator)
        assert "Made from policy version V.01, published" in text, kind
        assert f"Fingerprint {document.inputs.configuration_sha256[:12]}" in text, kind
        assert re.search(r"Code version Haven (git \S+|package \S+)", text), kind
        assert re.search(r"Made on \d{1,2} \w+ 20\d\d, \d\d:\d\d", text), kind
        assert re.search(r"Draft Number \d+", text), kind
        assert BLANK in text, kind


@pytest.mark.django_db
def test_nothing_is_invented_the_questions_only_people_can_answer_are_marked_blanks():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    dpia = _text(organisation, Kind.DPIA, coordinator)
    for ico_step in (
        "Step 1: Identify the need for a DPIA",
        "Step 2: Describe the processing",
        "Step 3: Consultation process",
        "Step 4: Assess necessity and proportionality",
        "Step 5: Identify and assess risks",
        "Step 6: Identify measures to reduce risk",
        "Step 7: Sign off and record outcomes",
    ):
        assert ico_step in dpia
    # What only the organisation can say is a blank, never a statement.
    for question in ("Step 3: Consultation process", "The lawful basis for processing"):
        after = dpia.split(question, 1)[1][:200]
        assert BLANK in after, question
    record = _text(organisation, Kind.RECORD, coordinator)
    assert "Data protection officer " + BLANK in record
    assert "The purposes, and the lawful basis for each" in record
    statement = _text(organisation, Kind.ACCESSIBILITY, coordinator)
    assert f"This website is {BLANK} : fully, partially or not compliant" in statement
    # Every fact from the policy data is the policy's own.
    policy = organisation.policy_in_force()
    assert f"Controller {policy.controller}" in record
    assert f"Processor {policy.processor}" in record
    assert policy.contact_email in statement


@pytest.mark.django_db
def test_the_DPIA_lists_every_retention_period_every_personal_record_and_every_role():
    policy = load_policy()
    periods = {period.key for period in documents.retention_periods(policy)}
    assert set(RETENTION_FIELDS.values()) <= periods
    assert {f"transcript:{t.key}" for t in policy.meeting_types.all()} <= periods
    from haven.subjects.registry import PERSONAL

    assert [group.model for group in documents.personal_data()] == list(PERSONAL)
    # Each record has a name a reader understands, never a model's label.
    titles = [group.title for group in documents.personal_data()]
    assert not [title for title in titles if "." in title or ";" in title], titles
    assert set(documents.PERMISSION_WORDS) == set(Permission)
    coordinator = _coordinator(policy.organisation)
    access = {row.role: row for row in documents.role_access(policy.organisation)}
    assert access[StaffRole.COORDINATOR].active_staff == 1
    assert access[StaffRole.HOST].active_staff == 0
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    access = {row.role: row for row in documents.role_access(policy.organisation)}
    assert access[StaffRole.COORDINATOR].active_staff == 0


def test_P2_only_coordinators_and_the_service_manager_may_make_the_pack():
    allowed = [role for role in StaffRole if Permission.VIEW_ASSURANCE in permissions_for([role])]
    assert allowed == [StaffRole.COORDINATOR, StaffRole.SERVICE_MANAGER]


def test_every_rule_has_a_test_named_for_it():
    evidence = rules.rule_evidence()
    assert rules.tests_installed()
    assert [rule.rule_id for rule in evidence][:3] == ["U1", "U2", "U3"]
    untested = [rule.rule_id for rule in evidence if not rule.tests]
    assert untested == []
    [d5] = [rule for rule in evidence if rule.rule_id == "D5"]
    assert "test_audit_chain::test_D5_the_live_audit_log_verifies" in d5.tests
    assert d5.in_meeting_evidence


def test_the_accessibility_record_is_read_and_a_missing_or_broken_one_said_plainly(tmp_path):
    missing = accessibility.last_run(tmp_path / "none.json")
    assert missing.run is None
    assert missing.problem == "There is no record of an automated test run here."
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert accessibility.last_run(broken).problem.startswith("The record of the test runs cannot")
    good = tmp_path / "axe.json"
    check = {"page": "/staff/", "title": "Staff", "passed": 30, "violations": []}
    bad = {
        "page": "/join/…",
        "title": "Join",
        "passed": 29,
        "violations": [{"id": "color-contrast", "help": "Enough contrast", "nodes": 2}],
    }
    good.write_text(
        json.dumps(
            {
                "runs": [
                    {"run": "old", "started_at": "2026-01-01T00:00:00+00:00", "checks": [bad]},
                    {"run": "new", "started_at": "2026-02-01T00:00:00+00:00", "checks": [check]},
                ]
            }
        ),
        encoding="utf-8",
    )
    found = accessibility.last_run(good)
    assert found.run is not None and found.run.run == "new"
    assert found.run.violation_count == 0 and found.run.pages == ["/staff/"]
    good.write_text(
        json.dumps(
            {"runs": [{"run": "x", "started_at": "2026-02-01T00:00:00+00:00", "checks": [bad]}]}
        ),
        encoding="utf-8",
    )
    run = accessibility.last_run(good).run
    assert run is not None
    assert run.issues() == [("color-contrast", "Enough contrast", ["/join/…"])]


@pytest.mark.django_db
def test_the_accessibility_statement_says_what_the_last_test_run_found_or_that_there_is_none(
    tmp_path,
):
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    with override_settings(HAVEN_AXE_RESULTS=tmp_path / "none.json"):
        text = _text(organisation, Kind.ACCESSIBILITY, coordinator)
    assert "There is no record of an automated test run here." in text
    assert "cannot say what automated checks found" in text
    artefact = tmp_path / "axe.json"
    checks = [
        {"page": "/staff/", "title": "Staff", "passed": 30, "violations": []},
        {"page": "/staff/", "title": "Staff", "passed": 31, "violations": []},
        {
            "page": "/consent/…",
            "title": "Consent",
            "passed": 29,
            "violations": [{"id": "label", "help": "Form elements must have labels", "nodes": 1}],
        },
    ]
    run = {"run": "r1", "started_at": "2026-11-30T09:15:00+00:00", "checks": checks}
    artefact.write_text(json.dumps({"runs": [run]}), encoding="utf-8")
    with override_settings(HAVEN_AXE_RESULTS=artefact):
        text = _text(organisation, Kind.ACCESSIBILITY, coordinator)
        [state] = [
            s
            for s in drafts_of(organisation, current_inputs(organisation))
            if s.draft.kind == Kind.ACCESSIBILITY and s.draft.inputs["configuration"]["axe_run"]
        ]
        assert state.current
    assert "on 3 page states across 2 pages" in text
    assert "/staff/ Staff 2 0" in text and "/consent/… Consent 1 1" in text
    assert "They found 1 failure" in text
    assert "Form elements must have labels (axe-core rule label), on /consent/…" in text
    # The first draft was made with no record of a test run: it is out of date now.
    states = drafts_of(organisation, current_inputs(organisation))
    assert any(not s.current for s in states if s.draft.kind == Kind.ACCESSIBILITY)


@pytest.mark.django_db
def test_the_security_summary_reports_the_configuration_the_key_id_the_chain_and_check_deploy():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    from haven.records.crypto import current_key

    text = _text(organisation, Kind.SECURITY, coordinator)
    assert f"Key id {current_key()[0]}" in text
    assert "Intact: every entry" in text or "Intact: the" in text
    assert "Recording Impossible" in text
    assert "After 5 wrong passwords or codes, the account is locked for 15 minutes" in text
    # The tests' own configuration is not a deployment's: check --deploy says so, and
    # the summary shows it rather than hiding it.
    assert "security.W004" in text or "security.W008" in text
    assert "Debug mode Off" in text
    with override_settings(HAVEN_TRANSCRIPT_KEY=""):
        text = _text(organisation, Kind.SECURITY, coordinator)
    assert "None: HAVEN_TRANSCRIPT_KEY is not set" in text
    assert "records.E001" in text


@pytest.mark.django_db
def test_the_security_summary_says_whether_staff_sign_in_with_the_organisations_provider():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    text = _text(organisation, Kind.SECURITY, coordinator)
    assert "Single sign-on (SSO) Not set up: staff sign in to Haven itself" in text
    issuer = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"
    sso = {
        "HAVEN_OIDC_ISSUER": issuer,
        "HAVEN_OIDC_ORGANISATION": organisation.slug,
        "HAVEN_OIDC_RECHECK_MINUTES": 10.0,
    }
    with override_settings(**sso):
        text = _text(organisation, Kind.SECURITY, coordinator)
        assert f"can sign in with the OpenID provider {issuer}" in text
        assert "Haven passwords work too." in text
        assert "again every 10 minutes" in text
        SingleSignOn.objects.create(organisation=organisation, required=True)
        text = _text(organisation, Kind.SECURITY, coordinator)
        assert "Haven passwords are refused for them." in text


@pytest.mark.django_db
def test_each_document_is_a_self_contained_file_and_an_A4_pdf_with_numbered_pages():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    assert pdf.available()
    for kind in Kind:
        document = make_document(organisation, kind)
        draft = draft_for(organisation, kind, document.inputs, coordinator)
        html = standalone_html(document, draft)
        # Nothing to load: the styles are inside, no stylesheet, script or image outside.
        assert "<style>" in html and "@page" in html
        assert not re.search(r"<(link|script|img)\b", html)
        reader = PdfReader(io.BytesIO(pdf.pdf_of(html)))
        count = len(reader.pages)
        assert count >= 1
        for number, page in enumerate(reader.pages, start=1):
            size = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
            assert size == (595, 842), f"{kind}: page {number} is not A4"
            text = " ".join(page.extract_text().split())
            assert f"Page {number} of {count}" in text, f"{kind}: page {number} has no number"
        whole = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
        assert document.title in whole and "End of the" in whole
        assert f"Number {draft.pk}" in whole


def _sticking_out(html: str) -> list[str]:
    """Boxes WeasyPrint lays out past the right edge of an A4 page's printable area."""
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import MarginBox

    def walk(box: Any) -> Any:
        yield box
        for child in getattr(box, "children", None) or []:
            yield from walk(child)

    found = []
    for number, page in enumerate(HTML(string=html).render().pages, start=1):
        page_box = page._page_box
        right = page.width - page_box.margin_right
        for child in page_box.children:
            if isinstance(child, MarginBox):  # the page number, in the margin on purpose
                continue
            for box in walk(child):
                if hasattr(box, "border_box_x") and (
                    box.border_box_x() + box.border_width() > right + 0.5
                ):
                    found.append(f"page {number}: {getattr(box, 'element_tag', '?')}")
    return found


@pytest.mark.django_db
def test_nothing_is_cut_off_at_the_right_of_an_A4_page():
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    for kind in Kind:
        document = make_document(organisation, kind)
        html = standalone_html(
            document, draft_for(organisation, kind, document.inputs, coordinator)
        )
        assert _sticking_out(html) == [], kind
    # The check finds what sticks out.
    wide = html.replace(
        '<h1 id="document-title">', '<div class="x">wide</div><h1 id="document-title">'
    )
    wide = wide.replace("</style>", ".x { width: 300mm }</style>")
    assert _sticking_out(wide) == ["page 1: div"]


def test_the_pdf_loads_nothing_from_anywhere():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    html = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/x.css"></head>'
        f'<body><img src="http://127.0.0.1:{port}/x.png" alt=""><p>Hello</p></body></html>'
    )
    reader = PdfReader(io.BytesIO(pdf.pdf_of(html)))
    assert "Hello" in reader.pages[0].extract_text()
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody came
    listener.close()
    with pytest.raises(pdf.FetchRefused):
        pdf._no_fetching().fetch(f"http://127.0.0.1:{port}/x.png")


@pytest.mark.django_db
def test_the_documents_are_in_plain_english():
    """Short sentences, no placeholders that read as facts, no Latin abbreviations, no
    code names where a reader expects words."""
    organisation = load_policy().organisation
    coordinator = _coordinator(organisation)
    for kind in Kind:
        document = make_document(organisation, kind)
        draft = draft_for(organisation, kind, document.inputs, coordinator)
        html = re.sub(
            r"<code>.*?</code>",
            "code",
            render_to_string(
                "assurance/_document.html",
                {"document": document, "draft": draft, **document.facts},
            ),
            flags=re.S,
        )
        prose = [
            " ".join(re.sub(r"<[^>]+>", " ", part).split())
            for part in re.findall(r"<(?:p|li)\b[^>]*>(.*?)</(?:p|li)>", html, flags=re.S)
        ]
        sentences = [s for text in prose for s in re.split(r"(?<=[.:;])\s+", text) if s]
        longest = max(sentences, key=lambda s: len(s.split()))
        assert len(longest.split()) <= 35, f"{kind}: {longest}"
        text = " ".join(prose)
        for placeholder in ("e.g.", "i.e.", "etc.", "TODO", "TBC", "lorem", "[", "N/A", "XXX"):
            assert placeholder not in text, f"{kind}: {placeholder!r}"
        assert "None" not in re.findall(r"\w+", text), f"{kind}: a Python None shown"
