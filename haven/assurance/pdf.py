"""A downloaded assurance document as a PDF (issue 19), made by WeasyPrint from the same
self-contained HTML file: A4, with "Page n of N" from the stylesheet's @page rules.

WeasyPrint fetches nothing: the file carries its styles, and every other address it
names (links, the privacy notice) is text in a PDF, never loaded. It needs Debian's Pango;
where that is missing, Haven offers the documents as HTML only and says why in its log.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

logger = logging.getLogger(__name__)


class FetchRefused(ValueError):
    pass


def _no_fetching() -> Any:
    """A WeasyPrint URL fetcher that refuses every address (WeasyPrint then leaves the
    image or stylesheet out and goes on)."""
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise FetchRefused(f"The assurance PDF loads nothing, not {url}")

    return NoFetching()


@cache
def available() -> bool:
    """Whether WeasyPrint and the libraries it needs are installed (checked once)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        logger.warning("Assurance documents are offered as HTML only: no PDF (%s).", exc)
        return False
    return True


def pdf_of(html: str) -> bytes:
    """The PDF of one self-contained HTML document."""
    import weasyprint

    pdf = weasyprint.HTML(string=html, url_fetcher=_no_fetching()).write_pdf()
    assert pdf is not None
    return bytes(pdf)
