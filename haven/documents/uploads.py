"""Uploads that never touch the disk (rule S4: the document is not kept).

Two places would otherwise write an upload to a temporary file:

- Django's ASGI handler spools every request body into a temporary file that rolls over
  to disk past FILE_UPLOAD_MAX_MEMORY_SIZE. `InMemoryBodyASGIHandler` keeps bodies in
  memory up to the document limit plus a margin for the form's other fields; a bigger
  body is read to its end and thrown away as it arrives, and the request goes on with an
  empty body and `body_too_large` set, so the page can say so.
- Django's upload handlers write large files to temporary files. The document page
  uses `DocumentUploadHandler`, which keeps one file in memory and, past the limit, stops
  keeping it at all. Everywhere else, settings.FILE_UPLOAD_HANDLERS has only the memory
  handler.
"""

import io
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest

# Room for the form's other fields and the multipart framing around the file.
FORM_MARGIN_BYTES = 1024 * 1024
DOCUMENT_FIELD = "document"


def request_body_limit() -> int:
    return int(settings.HAVEN_DOCUMENT_MAX_BYTES) + FORM_MARGIN_BYTES


class InMemoryBody(io.BytesIO):
    """A request body held in memory; `too_large` when it was over the limit and dropped."""

    too_large = False


class InMemoryBodyASGIHandler(ASGIHandler):
    """Django's ASGI handler, with request bodies kept in memory and never spooled to disk."""

    async def read_body(self, receive: Any) -> InMemoryBody:
        body = InMemoryBody()
        limit = request_body_limit()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            chunk = message.get("body", b"")
            if not body.too_large and body.tell() + len(chunk) > limit:
                # Keep nothing of it; read on to the end so the browser hears the answer.
                body.too_large = True
                body.seek(0)
                body.truncate()
            if not body.too_large:
                body.write(chunk)
            if not message.get("more_body", False):
                break
        body.seek(0)
        return body

    def create_request(self, scope: Any, body_file: Any) -> Any:
        request, error = super().create_request(scope, body_file)
        if request is not None and getattr(body_file, "too_large", False):
            # The body was dropped: parse it as the empty body it now is.
            request.META["CONTENT_LENGTH"] = "0"
            request.body_too_large = True  # type: ignore[attr-defined]
        return request, error


def body_was_too_large(request: HttpRequest) -> bool:
    return bool(getattr(request, "body_too_large", False))


class DocumentUploadHandler(FileUploadHandler):
    """Keeps the one document in memory; past the limit, keeps none of it and says so."""

    def __init__(self, request: HttpRequest, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.too_large = False
        self.received = 0
        self.buffer: io.BytesIO | None = None

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        return None  # always this handler, whatever the body's length

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name != DOCUMENT_FIELD or self.buffer is not None:
            raise SkipFile  # one document, in its field; anything else is not kept
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.buffer is not None
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.too_large = True
            self.buffer = io.BytesIO()
            raise SkipFile
        self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile | None:
        if self.buffer is None or self.too_large:
            return None
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
