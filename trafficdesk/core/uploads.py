"""What an uploaded document may be, decided by its content (the declared type and the file
name are not trusted): JPEG, PNG or PDF, at most 5 MB. Online applications, enterprise
documents and the evidence of priority claims all go through `accepted_type`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

DOCUMENT_TYPES = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG",
    "application/pdf": b"%PDF",
}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class UploadRefused(ValueError):
    """The file is refused; the message says why in plain words."""


def sniff_type(head: bytes) -> str | None:
    """The document's real type from its first bytes."""
    return next((kind for kind, magic in DOCUMENT_TYPES.items() if head.startswith(magic)), None)


def too_large() -> UploadRefused:
    return UploadRefused(_("The file is larger than 5 MB."))


def read_limited(upload: Any, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """An uploaded file's content, read in chunks and never more than `limit` bytes: a file
    whose declared size is over the limit is refused before a byte is read, and one that
    turns out larger while reading is refused at once (UploadRefused). Django spools uploads
    over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file, so a big upload never sits in
    memory whole."""
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise too_large()
    parts: list[bytes] = []
    total = 0
    for chunk in upload.chunks(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise too_large()
        parts.append(chunk)
    return b"".join(parts)


def accepted_type(content: bytes) -> str:
    """The document's type, or UploadRefused saying why it is refused."""
    if not content:
        raise UploadRefused(_("The file is empty."))
    if len(content) > MAX_DOCUMENT_BYTES:
        raise too_large()
    kind = sniff_type(content[:8])
    if kind is None:
        raise UploadRefused(_("Only JPEG, PNG and PDF files are accepted."))
    return kind
