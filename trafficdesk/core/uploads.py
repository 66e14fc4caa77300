"""What an uploaded document may be, decided by its content (the declared type and the file
name are not trusted): JPEG, PNG or PDF, at most 5 MB. Online applications, enterprise
documents and the evidence of priority claims all go through `accepted_type`."""

from __future__ import annotations

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


def accepted_type(content: bytes) -> str:
    """The document's type, or UploadRefused saying why it is refused."""
    if not content:
        raise UploadRefused(_("The file is empty."))
    if len(content) > MAX_DOCUMENT_BYTES:
        raise UploadRefused(_("The file is larger than 5 MB."))
    kind = sniff_type(content[:8])
    if kind is None:
        raise UploadRefused(_("Only JPEG, PNG and PDF files are accepted."))
    return kind
