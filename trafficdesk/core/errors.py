"""The base of every refusal a service gives: a message in plain words, in the user's
language, that says why and what to do instead."""

from __future__ import annotations

from django.utils.functional import Promise


class Refusal(Exception):
    """A request the rules do not allow. `message` is for people; `code` is for programs and
    is never shown."""

    code = "refused"
    status = 409
    """The HTTP status the API answers with when nothing more specific applies."""

    def __init__(self, message: str | Promise, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message
