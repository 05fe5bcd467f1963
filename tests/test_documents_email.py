"""Documents by email, never through the meeting (rule S4).

The host chooses people invited to their meeting and Haven emails them a document: only
allowed kinds, checked by their bytes as well as their name, up to a size limit, and
nothing of the file kept (only an audit row with its name, size and SHA-256). The live
tests post the form as a browser would and read what the SMTP server received; the test
files are made here, at run time.
"""

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import smtplib
import struct
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.mail.backends.base import BaseEmailBackend
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.test.client import encode_multipart
from playwright.sync_api import expect

from haven.accounts.models import RoleGrant, User
from haven.accounts.permissions import StaffRole
from haven.audit.models import AuditEvent
from haven.documents.actions import Document, DocumentError, do_send_document
from haven.documents.filetypes import KINDS, NotAllowed, check_document
from haven.documents.uploads import DocumentUploadHandler, InMemoryBodyASGIHandler
from haven.invitations.models import Invitation
from tests.harness import database, flows, ui
from tests.harness.browser import chromium
from tests.harness.stack import Stack
from tests.harness.staff import sign_in_staff
from tests.harness.unit import scheduled_meeting

SUBJECT = "A document for"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
LIMIT = 10 * 1024 * 1024  # HAVEN_DOCUMENT_MAX_MB's default, which the live stack uses
CHECKBOX = re.compile(r'<input type="checkbox" name="recipients" value="(\d+)"[^>]*id="([^"]+)"')


# --- Small valid documents, made at run time -------------------------------------------


def pdf_bytes(marker: str, padding: int = 0) -> bytes:
    """A one-page PDF with a correct cross-reference table; `marker` is its title."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        f"<< /Title ({marker}) >>".encode(),
    ]
    out = b"%PDF-1.4\n%" + b"x" * padding + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>"
    return out + f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()


WORD_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
)
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
WORD_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
)


def docx_bytes(marker: str, main: str = WORD_MAIN) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", WORD_TYPES.format(main=main))
        archive.writestr("_rels/.rels", WORD_RELS)
        archive.writestr("word/document.xml", WORD_BODY.format(text=marker))
    return buffer.getvalue()


def odt_bytes(
    marker: str,
    mime_type: str = "application/vnd.oasis.opendocument.text",
    compress: int = zipfile.ZIP_STORED,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mime_type, compress_type=compress)
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
            'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
            f'manifest:media-type="{mime_type}"/><manifest:file-entry '
            'manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
        archive.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            f"<office:body><office:text><text:p>{marker}</text:p></office:text></office:body>"
            "</office:document-content>",
        )
    return buffer.getvalue()


def png_bytes(marker: str) -> bytes:
    """A 1x1 red PNG with the marker in a text chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + marker.encode())
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def marker() -> str:
    return f"haven-s4-{secrets.token_hex(12)}"


# --- The host's page, over HTTP ----------------------------------------------------------


class Meeting:
    """A host's meeting with people invited (their consent is not needed to get a document)."""

    def __init__(self, stack: Stack, *names: str) -> None:
        self.stack = stack
        self.host, self.host_email = flows.sign_in(stack)
        self.id = flows.create_meeting(self.host)
        self.url = f"/meetings/{self.id}/documents/"
        self.emails: dict[str, str] = {}
        for name in names:
            self.emails[name] = self.invite(name)

    def invite(self, name: str, *, role: str = "parent_carer", parent: str = "") -> str:
        address = flows.unique_email(name.split()[0].lower())
        response = flows.send_invitation(
            self.host,
            self.id,
            name=name,
            email=address,
            role=role,
            parent_name=f"Parent of {name}" if parent else "",
            parent_email=parent,
        )
        assert response.status_code == 302, response.text
        return address

    def recipient_ids(self, client: httpx.Client | None = None) -> dict[str, str]:
        """Each invitee's checkbox on the page, by name, read from its label."""
        page = (client or self.host).get(self.url)
        assert page.status_code == 200, page.text
        ids = {}
        for value, input_id in CHECKBOX.findall(page.text):
            label = re.search(rf'<label for="{input_id}">([^<]+)</label>', page.text)
            assert label, input_id
            ids[label.group(1).split(" (")[0]] = value
        return ids

    def send(
        self,
        names: list[str] | None,
        file: tuple[str, bytes, str] | None,
        *,
        recipients: list[str] | None = None,
        client: httpx.Client | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        """Post the form: a file, and the boxes of these people (or these raw values)."""
        client = client or self.host
        ids = self.recipient_ids() if names else {}
        chosen = recipients if recipients is not None else [ids[name] for name in names or []]
        if token is None:
            token = csrf_token(self.host, self.url)
        files = {"document": file} if file else {"document": ("", b"", "application/octet-stream")}
        data: dict[str, Any] = {"csrfmiddlewaretoken": token, "recipients": chosen}
        return client.post(self.url, data=data, files=files)


def csrf_token(client: httpx.Client, url: str) -> str:
    match = flows.CSRF.search(client.get(url).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def document_mails(stack: Stack, address: str) -> list[EmailMessage]:
    return flows.mails_to(stack, address, SUBJECT)


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for part in message.iter_attachments():
        content = part.get_content()
        assert isinstance(content, bytes), part.get_content_type()
        found.append((part.get_filename() or "", content))
    return found


def error_text(response: httpx.Response) -> str:
    return " ".join(
        re.findall(
            r'<p class="error">(?:<span class="error-label">Error:</span> )?([^<]+)</p>',
            response.text,
        )
    )


def sent_rows(stack: Stack, meeting_id: str) -> list[dict[str, Any]]:
    return [
        row
        for row in stack.audit("document.sent")
        if row["meeting_ref"].replace("-", "") == meeting_id.replace("-", "")
    ]


def assert_nothing_sent(stack: Stack, meeting: Meeting) -> None:
    for address in meeting.emails.values():
        assert document_mails(stack, address) == [], address
    assert sent_rows(stack, meeting.id) == []


# --- Live: what reaches whom -------------------------------------------------------------


@pytest.mark.live
def test_S4_allowed_documents_reach_the_chosen_people_only(stack):
    meeting = Meeting(stack, "Sam Carter", "Jo Patel", "Lee Brown")
    parent = flows.unique_email("parent")
    meeting.emails["Mia Young"] = meeting.invite("Mia Young", role="child", parent=parent)
    documents = [
        (["Sam Carter"], ("Support plan.pdf", pdf_bytes(marker()), "application/pdf")),
        (["Jo Patel", "Mia Young"], ("Notes.docx", docx_bytes(marker()), KINDS["docx"].mime_type)),
        (["Sam Carter", "Jo Patel"], ("Agenda.odt", odt_bytes(marker()), KINDS["odt"].mime_type)),
        (["Sam Carter"], ("Old letter.doc", ole_bytes("WordDocument"), "application/msword")),
        (["Mia Young"], ("Drawing.png", png_bytes(marker()), "image/png")),
    ]
    for names, file in documents:
        response = meeting.send(names, file)
        assert response.status_code == 302, error_text(response) or response.text[:500]
        page = meeting.host.get(response.headers["location"]).text
        assert f"We have emailed “{file[0]}”" in page

    invitations = {
        name: database.invitation(stack, address) for name, address in meeting.emails.items()
    }
    rows = sent_rows(stack, meeting.id)
    assert len(rows) == sum(len(names) for names, _ in documents)
    for name, address in meeting.emails.items():
        wanted = [file for names, file in documents if name in names]
        received = [attachments(message) for message in document_mails(stack, address)]
        # Exactly the documents chosen for them, each whole: the same bytes, the same hash.
        assert sorted(received) == sorted([[(file[0], file[1])] for file in wanted]), name
        for (file_name, content, _), message in zip(
            wanted, document_mails(stack, address), strict=True
        ):
            assert (
                hashlib.sha256(attachments(message)[0][1]).digest()
                == hashlib.sha256(content).digest()
            )
            text = flows.text_of(message)
            assert file_name in text and "keeps no copy" in text
            # Haven's normal layout: the contact address and the privacy notice.
            assert "Questions about this meeting or your data:" in text
            assert "How Haven uses your information: http://localhost" in text
        mine = [row for row in rows if row["invitation_id"] == invitations[name]["id"]]
        assert len(mine) == len(wanted), name
        for row, (file_name, content, _) in zip(mine, wanted, strict=True):
            details = json.loads(row["details"])
            assert file_name not in row["details"]  # the host's words: an erasable note
            assert database.note_text(stack, details["name"]) == file_name
            assert details["size"] == len(content)
            assert details["sha256"] == hashlib.sha256(content).hexdigest()
            assert address not in row["details"]  # pseudonymous: the invitation is the subject
            assert row["actor_kind"] == "staff"
    # A child's parent or carer gets what is sent to the child, and nothing else.
    to_parent = [attachments(message) for message in document_mails(stack, parent)]
    assert sorted(to_parent) == sorted(
        [[("Notes.docx", documents[1][1][1])], [("Drawing.png", documents[4][1][1])]]
    )
    assert json.loads(rows[-1]["details"])["to"] == ["invitee", "parent_carer"]
    assert document_mails(stack, meeting.emails["Lee Brown"]) == []


@pytest.mark.live
def test_S4_no_trace_of_the_document_is_kept(stack):
    meeting = Meeting(stack, "Sam Carter")
    secret = marker()
    # Bigger than Django's 2.5 MB in-memory default, which would spill to a temporary file.
    content = pdf_bytes(secret, padding=4 * 1024 * 1024)
    response = meeting.send(["Sam Carter"], ("Private report.pdf", content, "application/pdf"))
    assert response.status_code == 302, error_text(response)
    message = flows.newest_mail_to(stack, meeting.emails["Sam Carter"], SUBJECT)
    assert attachments(message) == [("Private report.pdf", content)]
    wanted = [
        secret.encode(),
        content[:2000],
        content[-400:],
        base64.b64encode(content[:3000])[:2000],
    ]
    for path in _haven_files(stack.folder):
        data = path.read_bytes()
        for trace in wanted:
            assert trace not in data, f"the document's content is in {path}"
    rows = sent_rows(stack, meeting.id)
    assert [json.loads(row["details"])["sha256"] for row in rows] == [
        hashlib.sha256(content).hexdigest()
    ]


def _haven_files(folder: Path) -> Iterator[Path]:
    """Everything in Haven's data folder (the database, its journal, temporary files,
    logs), but not the SMTP server's mailbox, which holds what was delivered."""
    for path in folder.rglob("*"):
        if path.is_file() and "maildir" not in path.relative_to(folder).parts:
            yield path


@pytest.mark.live
@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        (
            "Report.pdf",
            b"MZ\x90\x00\x03" + b"\x00" * 200 + b"This program cannot be run",
            "not really a PDF",
        ),
        ("Report.pdf", b"Dear Sam,\nplease find the report.\n", "not really a PDF"),
        ("Letter.docx", odt_bytes("x"), "not really a Word"),
        (
            "Macros.docx",
            docx_bytes("x", main="application/vnd.ms-word.document.macroEnabled.main+xml"),
            "not really a Word",
        ),
        ("Photo.png", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "not really a PNG"),
        ("notes.txt", b"Plain words", "can only email PDF"),
        ("tool.exe", b"MZ\x90\x00", "can only email PDF"),
    ],
    ids=["exe-as-pdf", "text-as-pdf", "odt-as-docx", "docm-as-docx", "jpeg-as-png", "txt", "exe"],
)
def test_S4_a_wrong_type_is_refused_whatever_its_name(stack, name, content, complaint):
    meeting = Meeting(stack, "Sam Carter")
    response = meeting.send(["Sam Carter"], (name, content, "application/pdf"))
    assert response.status_code == 400
    assert complaint in error_text(response), error_text(response)
    assert_nothing_sent(stack, meeting)


@pytest.mark.live
def test_S4_a_document_over_the_limit_is_refused_clearly(stack):
    meeting = Meeting(stack, "Sam Carter")
    # Just over: refused as it arrives, by the page's upload handler.
    just_over = pdf_bytes("x", padding=LIMIT)
    response = meeting.send(["Sam Carter"], ("Big.pdf", just_over, "application/pdf"))
    assert response.status_code == 413
    assert error_text(response) == "The file is larger than 10 MB. Choose a smaller file."
    # Far over: the whole request is dropped as it arrives, and the page says the same.
    far_over = pdf_bytes("x", padding=LIMIT + 3 * 1024 * 1024)
    response = meeting.send(["Sam Carter"], ("Huge.pdf", far_over, "application/pdf"))
    assert response.status_code == 413
    assert error_text(response) == "The file is larger than 10 MB. Choose a smaller file."
    assert "Sam Carter" in response.text  # the form again, with the people to choose
    assert_nothing_sent(stack, meeting)


@pytest.mark.live
def test_S4_a_missing_or_empty_file_or_nobody_chosen_is_refused(stack):
    meeting = Meeting(stack, "Sam Carter")
    response = meeting.send(["Sam Carter"], None)
    assert response.status_code == 400
    assert error_text(response) == "Choose a file to send."
    response = meeting.send(["Sam Carter"], ("Empty.pdf", b"", "application/pdf"))
    assert response.status_code == 400
    assert error_text(response) == "The file is empty. Choose a file with something in it."
    response = meeting.send([], ("Plan.pdf", pdf_bytes("x"), "application/pdf"))
    assert response.status_code == 400
    assert error_text(response) == "Choose at least one person to send it to."
    assert_nothing_sent(stack, meeting)


@pytest.mark.live
def test_S4_a_forged_recipient_is_refused(stack):
    meeting = Meeting(stack, "Sam Carter")
    other = Meeting(stack, "Jo Patel")
    theirs = other.recipient_ids()["Jo Patel"]
    mine = meeting.recipient_ids()["Sam Carter"]
    file = ("Plan.pdf", pdf_bytes(marker()), "application/pdf")
    for forged in ([theirs], [mine, theirs], ["999999999"], ["Sam Carter"]):
        response = meeting.send(None, file, recipients=forged)
        assert response.status_code == 400, forged
        assert error_text(response) == "Choose only people invited to this meeting.", forged
    # A cancelled invitation is no longer offered, nor accepted.
    token = csrf_token(meeting.host, f"/meetings/{meeting.id}/")
    revoke = meeting.host.post(
        f"/meetings/{meeting.id}/invitations/{mine}/cancel/", data={"csrfmiddlewaretoken": token}
    )
    assert revoke.status_code == 302
    assert meeting.recipient_ids() == {}
    response = meeting.send(None, file, recipients=[mine])
    assert response.status_code == 400
    # Without the form's CSRF token, nothing happens at all.
    response = meeting.send(None, file, recipients=[mine], token="forged")
    assert response.status_code == 403
    assert_nothing_sent(stack, meeting)
    assert_nothing_sent(stack, other)


@pytest.mark.live
def test_S4_only_the_meetings_host_can_send_documents(stack):
    meeting = Meeting(stack, "Sam Carter")
    invited = flows.invite(stack, meeting.host, meeting.id, "Jo Patel")
    attendee = flows.enter_passcode(stack, invited)
    other_host = sign_in_staff(stack, "otherhost", "host").client
    coordinator = sign_in_staff(stack, "coord", "coordinator", "service_manager").client
    mine = meeting.recipient_ids()["Sam Carter"]
    file = ("Plan.pdf", pdf_bytes(marker()), "application/pdf")
    missing_url = f"/meetings/{uuid.uuid4()}/documents/"
    for client in (other_host, coordinator):
        missing = client.get(missing_url)
        assert missing.status_code == 404
        page = client.get(meeting.url)
        assert page.status_code == 404
        assert _normalised(page.text) == _normalised(missing.text)
        token = csrf_token(client, "/accounts/")
        response = meeting.send(None, file, recipients=[mine], client=client, token=token)
        assert response.status_code == 404
        assert _normalised(response.text) == _normalised(missing.text)
    # Not signed in as staff (an attendee in the meeting): sent to sign in, as on every
    # staff address, whether the meeting exists or not.
    for url in (meeting.url, missing_url):
        page = attendee.get(url)
        assert page.status_code == 302
        assert page.headers["location"].startswith("/accounts/login/")
    response = meeting.send(None, file, recipients=[mine], client=attendee, token="none")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/accounts/login/")
    assert_nothing_sent(stack, meeting)
    assert document_mails(stack, invited.email) == []


def _normalised(html: str) -> str:
    return re.sub(r'value="[A-Za-z0-9]{64}"', 'value=""', html)


@pytest.mark.live
def test_S4_the_host_finds_the_page_from_the_meeting_and_attendees_do_not(stack):
    meeting = Meeting(stack)
    invited = flows.invite(stack, meeting.host, meeting.id, "Jo Patel")
    attendee = flows.enter_passcode(stack, invited)
    link = (
        f'<a id="send-document-link" href="{meeting.url}" target="_blank" rel="noopener">'
        "Email a document to people invited (opens in a new tab)</a>"
    )
    assert link in meeting.host.get(f"/room/{meeting.id}/").text
    room = attendee.get(f"/room/{meeting.id}/")
    assert room.status_code == 200
    assert "send-document-link" not in room.text and "/documents/" not in room.text
    assert f'href="{meeting.url}"' in meeting.host.get(f"/meetings/{meeting.id}/").text


@pytest.mark.browser
def test_S4_the_page_works_with_a_keyboard_and_is_accessible(stack, tmp_path):
    meeting = Meeting(stack, "Sam Carter", "Jo Patel")
    content = pdf_bytes(marker())
    path = tmp_path / "Plan.pdf"
    path.write_bytes(content)
    with chromium(stack, fake_devices=False) as browser:
        page = ui.page_with_session(browser, stack, meeting.host)
        page.goto(f"{stack.base_url}{meeting.url}")
        ui.assert_accessible(page, "the document page")
        # Send with nothing chosen: the errors are shown, and read out with their fields.
        ui.tab_to(page, "#send-document")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Choose a file to send.")).to_be_visible()
        expect(page.get_by_text("Choose at least one person to send it to.")).to_be_visible()
        ui.assert_accessible(page, "the document page with errors")
        # A file chooser is the system's own dialog; the rest is done with the keyboard.
        page.get_by_label("Document").set_input_files(str(path))
        ui.tab_to(page, "input[type=checkbox]")
        assert "Sam Carter" in page.evaluate(
            "() => document.querySelector(`label[for='${document.activeElement.id}']`).textContent"
        )
        page.keyboard.press("Space")
        ui.tab_to(page, "#send-document")
        page.keyboard.press("Enter")
        expect(page.get_by_text("We have emailed “Plan.pdf” to Sam Carter.")).to_be_visible()
        ui.assert_accessible(page, "the document page after sending")
        page.set_viewport_size(ui.PHONE)  # type: ignore[arg-type]
        ui.assert_fits(page, "the document page on a phone")
    message = flows.newest_mail_to(stack, meeting.emails["Sam Carter"], SUBJECT)
    assert attachments(message) == [("Plan.pdf", content)]
    assert document_mails(stack, meeting.emails["Jo Patel"]) == []


# --- Fast: the checks themselves ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.pdf", pdf_bytes("x")),
        ("a.PDF", pdf_bytes("x")),
        ("a.docx", docx_bytes("x")),
        ("a.odt", odt_bytes("x")),
        ("a.ods", odt_bytes("x", "application/vnd.oasis.opendocument.spreadsheet")),
        ("a.odp", odt_bytes("x", "application/vnd.oasis.opendocument.presentation")),
        ("a.png", png_bytes("x")),
        ("a.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("a.jpeg", b"\xff\xd8\xff\xdb\x00\x43"),
    ],
)
def test_S4_allowed_kinds_pass_the_content_check(name, content):
    assert check_document(name, content) == KINDS[name.rsplit(".", 1)[1].lower()]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.pdf", b"%PDX-1.4"),
        ("a.odt", odt_bytes("x", "application/vnd.oasis.opendocument.spreadsheet")),
        ("a.odt", odt_bytes("x", compress=zipfile.ZIP_DEFLATED)),
        ("a.odt", docx_bytes("x")),
        ("a.docx", b"PK\x03\x04 not really a zip"),
        ("a.jpg", png_bytes("x")),
        ("pdf", pdf_bytes("x")),
        (".pdf", pdf_bytes("x")),
        ("a.pdf.exe", pdf_bytes("x")),
        ("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        ("a.svg", b"<svg/>"),
    ],
)
def test_S4_other_content_is_refused(name, content):
    with pytest.raises(NotAllowed):
        check_document(name, content)


def test_S4_request_bodies_and_uploads_never_go_to_temporary_files(monkeypatch, settings):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("written to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    content = pdf_bytes("x", padding=6 * 1024 * 1024)
    upload = SimpleUploadedFile("a.pdf", content, "application/pdf")
    body = encode_multipart("haven-s4", {"document": upload, "recipients": ["1"]})
    content_type = "multipart/form-data; boundary=haven-s4"
    request = RequestFactory().post("/", data=body, content_type=content_type)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    kept = asyncio.run(InMemoryBodyASGIHandler().read_body(receive))
    assert kept.getvalue() == body and not kept.too_large
    # Past the limit, the body is read to its end and none of it is kept.
    settings.HAVEN_DOCUMENT_MAX_BYTES = len(content) - 2 * 1024 * 1024
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    dropped = asyncio.run(InMemoryBodyASGIHandler().read_body(receive))
    assert dropped.too_large and dropped.getvalue() == b"" and messages == []
    handler = DocumentUploadHandler(request, len(content))
    handlers: list[FileUploadHandler] = [handler]
    _, files = MultiPartParser(request.META, io.BytesIO(body), handlers).parse()
    kept_file = files.get("document")
    assert kept_file is not None and not isinstance(kept_file, list)
    assert kept_file.read() == content
    # One byte over the limit: nothing of it is kept.
    handler = DocumentUploadHandler(request, len(content) - 1)
    _, files = MultiPartParser(request.META, io.BytesIO(body), [handler]).parse()
    assert "document" not in files and handler.too_large


# --- Fast: sending, through the action ---------------------------------------------------


@pytest.fixture
def meeting_with_invitees(db):
    meeting = scheduled_meeting()
    host = meeting.host
    invitations = [
        Invitation.objects.create(
            meeting=meeting,
            name=name,
            email=f"{name.lower()}@example.org",
            role="parent_carer",
            expires_at=meeting.starts_at + dt.timedelta(days=1),
            invited_by=host,
        )
        for name in ("Sam", "Jo")
    ]
    return host, meeting, invitations


class RefusingMailServer(BaseEmailBackend):
    """A mail server that is down."""

    def open(self) -> bool:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_S4_when_the_mail_server_fails_nothing_is_recorded_as_sent(
    meeting_with_invitees, settings, mailoutbox
):
    host, meeting, invitations = meeting_with_invitees
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    document = Document("Plan.pdf", pdf_bytes("x"), KINDS["pdf"])
    outcome = do_send_document(host, meeting, invitations, document)
    assert outcome.sent == [] and outcome.failed == invitations
    assert not AuditEvent.objects.filter(action="document.sent").exists()
    failed = AuditEvent.objects.filter(action="document.failed").order_by("id")
    assert [event.invitation for event in failed] == invitations
    assert failed[0].details["sha256"] == hashlib.sha256(document.content).hexdigest()


def test_S4_sends_are_rate_limited(meeting_with_invitees, settings, mailoutbox):
    host, meeting, invitations = meeting_with_invitees
    settings.HAVEN_DOCUMENT_EMAILS_PER_HOUR = 3
    document = Document("Plan.pdf", pdf_bytes("x"), KINDS["pdf"])
    assert len(do_send_document(host, meeting, invitations, document).sent) == 2
    with pytest.raises(DocumentError, match="3 people an hour"):
        do_send_document(host, meeting, invitations, document)
    assert len(mailoutbox) == 2
    assert AuditEvent.objects.filter(action="document.sent").count() == 2
    # One more person still fits in the hour.
    assert len(do_send_document(host, meeting, invitations[:1], document).sent) == 1


def test_S4_only_the_host_of_an_open_meeting_may_send(meeting_with_invitees, mailoutbox):
    host, meeting, invitations = meeting_with_invitees
    other = User.objects.create_user(
        email="other@example.org",
        full_name="Other Host",
        job_title="IASS Officer",
        organisation=host.organisation,
    )
    RoleGrant.objects.create(user=other, role=StaffRole.HOST)
    document = Document("Plan.pdf", pdf_bytes("x"), KINDS["pdf"])
    with pytest.raises(DocumentError):
        do_send_document(other, meeting, invitations, document)
    meeting.state = meeting.State.ENDED
    meeting.save(update_fields=["state"])
    with pytest.raises(DocumentError):
        do_send_document(host, meeting, invitations, document)
    assert mailoutbox == []


# --- Word 97-2003 (.doc): an OLE compound file, made by hand ----------------------------

FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    entry = encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
    entry += struct.pack("<III", NO_STREAM, right, child) + b"\0" * 36
    return entry + struct.pack("<IQ", start, size)


def ole_bytes(*streams: str) -> bytes:
    """A version-3 OLE compound file with these streams of 4,096 bytes each (no mini
    stream), as Word 97-2003 writes its `WordDocument` stream."""
    sectors_each = 4096 // 512
    entries = [_ole_entry("Root Entry", 5, 1 if streams else NO_STREAM, NO_STREAM, END, 0)]
    fat = [FAT_SECTOR, END]
    for number, name in enumerate(streams, 1):
        start = len(fat)
        fat += [*range(start + 1, start + sectors_each), END]
        right = number + 1 if number < len(streams) else NO_STREAM
        entries.append(_ole_entry(name, 2, NO_STREAM, right, start, 4096))
    while len(entries) % 4:
        entries.append(_ole_entry("", 0, NO_STREAM, NO_STREAM, 0, 0))
    assert len(entries) == 4, "one directory sector"
    header = OLE_MAGIC + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", 0, *[FREE] * 108)
    fat_sector = struct.pack("<128I", *fat, *[FREE] * (128 - len(fat)))
    data = b"".join(secrets.token_bytes(4096) for _ in streams)
    return header + fat_sector + b"".join(entries) + data


def test_S4_a_word_97_document_is_checked_by_its_streams():
    assert check_document("Old letter.doc", ole_bytes("WordDocument", "1Table")) == KINDS["doc"]
    for content in (
        ole_bytes("Workbook"),  # an Excel file renamed .doc
        ole_bytes("WordDocument", "Macros"),  # macros: refused, as .docm is
        OLE_MAGIC + b"\0" * 600,  # the right first bytes, and nothing else right
    ):
        with pytest.raises(NotAllowed):
            check_document("Old letter.doc", content)
