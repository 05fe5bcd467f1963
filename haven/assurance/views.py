"""The Assurance page and its four documents (issue 19): for coordinators and the service
manager only (rule P2, Permission.VIEW_ASSURANCE); others get the same 404 as a page that
does not exist. Making a document from new inputs records a draft (audited); downloading
one is audited too."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haven.accounts.decorators import staff_required
from haven.accounts.models import User
from haven.accounts.permissions import Permission
from haven.assurance import pdf
from haven.assurance.drafts import draft_for, drafts_of
from haven.assurance.models import GeneratedDraft
from haven.assurance.pack import (
    KINDS_BY_SLUG,
    SLUGS,
    TITLES,
    Document,
    current_inputs,
    make_document,
)
from haven.audit.log import Actor, record

# Embedded in a downloaded document, so the file stands alone (opened from a disk or
# attached to an email, it reaches no server).
# print.css is for print only, as on the page.
STYLESHEETS = (
    ("haven/css/site.css", False),
    ("haven/css/print.css", True),
    ("haven/css/assurance.css", False),
)


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@never_cache
@staff_required(Permission.VIEW_ASSURANCE)
@require_http_methods(["GET"])
def assurance_index(request: HttpRequest) -> HttpResponse:
    """The four documents, and every earlier draft with whether it is still current."""
    organisation = _staff(request).organisation
    documents = [(SLUGS[kind], TITLES[kind]) for kind in GeneratedDraft.Kind]
    drafts = drafts_of(organisation, current_inputs(organisation))
    context = {"documents": documents, "drafts": drafts, "pdf": pdf.available()}
    return render(request, "assurance/index.html", context)


def _made(request: HttpRequest, slug: str) -> dict[str, object]:
    kind = KINDS_BY_SLUG.get(slug)
    if kind is None:
        raise Http404
    staff = _staff(request)
    document = make_document(staff.organisation, kind)
    draft = draft_for(staff.organisation, kind, document.inputs, staff)
    return {"document": document, "draft": draft, **document.facts}


@never_cache
@staff_required(Permission.VIEW_ASSURANCE)
@require_http_methods(["GET"])
def assurance_document(request: HttpRequest, slug: str) -> HttpResponse:
    """One document, made now from live data; printable (A4, numbered pages)."""
    context = {**_made(request, slug), "pdf": pdf.available()}
    return render(request, "assurance/document.html", context)


def _stylesheet(name: str, print_only: bool) -> str:
    found = finders.find(name)
    assert isinstance(found, str), name
    with open(found, encoding="utf-8") as file:
        text = file.read()
    return f"@media print {{\n{text}\n}}" if print_only else text


def standalone_html(document: Document, draft: GeneratedDraft) -> str:
    """The document as one HTML file that needs nothing else to open or print."""
    styles = "\n".join(_stylesheet(name, print_only) for name, print_only in STYLESHEETS)
    context = {"document": document, "draft": draft, "styles": styles, **document.facts}
    return render_to_string("assurance/download.html", context)


def _standalone(request: HttpRequest, slug: str) -> tuple[str, Document, GeneratedDraft]:
    context = _made(request, slug)
    document, draft = context["document"], context["draft"]
    assert isinstance(document, Document) and isinstance(draft, GeneratedDraft)
    return standalone_html(document, draft), document, draft


def _attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@staff_required(Permission.VIEW_ASSURANCE)
@require_http_methods(["GET"])
def assurance_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The document as a self-contained HTML file, to finish and keep."""
    html, document, draft = _standalone(request, slug)
    actor = Actor.staff(_staff(request))
    record("assurance.downloaded", actor, kind=draft.kind, draft=draft.pk, format="html")
    return _attachment(html, "text/html; charset=utf-8", document.filename)


@never_cache
@staff_required(Permission.VIEW_ASSURANCE)
@require_http_methods(["GET"])
def assurance_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    """The same file as a PDF (A4, numbered pages), where WeasyPrint is installed."""
    if not pdf.available():
        raise Http404
    html, document, draft = _standalone(request, slug)
    actor = Actor.staff(_staff(request))
    record("assurance.downloaded", actor, kind=draft.kind, draft=draft.pk, format="pdf")
    filename = document.filename.removesuffix(".html") + ".pdf"
    return _attachment(pdf.pdf_of(html), "application/pdf", filename)
