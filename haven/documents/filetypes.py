"""Which documents the host may email (rule S4): checked by content as well as by name.

A file is accepted only when its name's extension is on the allow-list and its bytes are
that kind of file: magic bytes for PDF, PNG and JPEG; for OpenDocument, the zip's first
entry `mimetype`, stored uncompressed, naming the type the extension says; for Word
(.docx), the zip's `[Content_Types].xml` declaring a Word main document (not a
macro-enabled one) and a `word/` part; for Word 97-2003 (.doc), an OLE compound file
(read with olefile) holding a `WordDocument` stream and no macros. A renamed program or
text file is refused.

A small function of our own rather than a magic-byte library: those guess OOXML and ODF
from the first few kilobytes instead of reading the zip.
"""

import io
import zipfile
from dataclasses import dataclass

import olefile

PDF = b"%PDF-"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
ODF_TYPES = {
    "odt": b"application/vnd.oasis.opendocument.text",
    "ods": b"application/vnd.oasis.opendocument.spreadsheet",
    "odp": b"application/vnd.oasis.opendocument.presentation",
}
# Parts read out of a zip are small; a bigger one is not a document we accept (zip bombs).
MAX_PART_BYTES = 256 * 1024


@dataclass(frozen=True)
class Kind:
    """An allowed kind of document: what people call it, and its MIME type."""

    label: str
    mime_type: str


KINDS = {
    "pdf": Kind("PDF", "application/pdf"),
    "doc": Kind("Word", "application/msword"),
    "docx": Kind("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "odt": Kind("OpenDocument text", ODF_TYPES["odt"].decode()),
    "ods": Kind("OpenDocument spreadsheet", ODF_TYPES["ods"].decode()),
    "odp": Kind("OpenDocument presentation", ODF_TYPES["odp"].decode()),
    "png": Kind("PNG image", "image/png"),
    "jpg": Kind("JPEG image", "image/jpeg"),
    "jpeg": Kind("JPEG image", "image/jpeg"),
}

# For the page: what people may send, in words.
ALLOWED_IN_WORDS = "PDF, Word (.docx, .doc), OpenDocument (.odt, .ods, .odp), PNG or JPEG"


class NotAllowed(ValueError):
    """The file is not an allowed document; the message says why, in plain words."""


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, without the dot ("" when none)."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def check_document(name: str, content: bytes) -> Kind:
    """The kind of an allowed document, or NotAllowed when the name or content is wrong."""
    extension = extension_of(name)
    kind = KINDS.get(extension)
    if kind is None:
        raise NotAllowed(f"Haven can only email {ALLOWED_IN_WORDS} files.")
    if not _content_is(extension, content):
        raise NotAllowed(
            f"This file is not really a {kind.label} file, though its name ends in "
            f".{extension}. Haven can only email {ALLOWED_IN_WORDS} files."
        )
    return kind


def _content_is(extension: str, content: bytes) -> bool:
    if extension == "pdf":
        return content.startswith(PDF)
    if extension == "png":
        return content.startswith(PNG)
    if extension in ("jpg", "jpeg"):
        return content.startswith(JPEG)
    if extension == "docx":
        return _is_word(content)
    if extension == "doc":
        return _is_word_97(content)
    return _is_open_document(content, ODF_TYPES[extension])


def _zip(content: bytes) -> zipfile.ZipFile | None:
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError):
        return None


def _read_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    if info.file_size > MAX_PART_BYTES:
        return None
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
        return None


def _is_open_document(content: bytes, mime_type: bytes) -> bool:
    """ODF: the first entry is `mimetype`, stored, holding exactly the type (ODF 1.2 §3.3)."""
    archive = _zip(content)
    if archive is None:
        return False
    with archive:
        entries = archive.infolist()
        if not entries or entries[0].filename != "mimetype":
            return False
        first = entries[0]
        if first.compress_type != zipfile.ZIP_STORED:
            return False
        return _read_part(archive, first) == mime_type


def _is_word(content: bytes) -> bool:
    """OOXML Word: `[Content_Types].xml` names a Word main part, and `word/` parts exist."""
    archive = _zip(content)
    if archive is None:
        return False
    with archive:
        names = {info.filename: info for info in archive.infolist()}
        types = names.get("[Content_Types].xml")
        if types is None or not any(name.startswith("word/") for name in names):
            return False
        declared = _read_part(archive, types)
        return declared is not None and WORD_MAIN in declared


def _is_word_97(content: bytes) -> bool:
    """Word 97-2003: an OLE file with a `WordDocument` stream, and no macros in it."""
    if not content.startswith(OLE):
        return False
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            streams = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    except Exception:  # any failure to parse untrusted bytes: not a Word file
        return False
    has_macros = any(name.split("/")[0] in ("macros", "_vba_project_cur") for name in streams)
    return "worddocument" in streams and not has_macros
