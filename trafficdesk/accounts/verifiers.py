"""Identity verifiers: does this resident ID number belong to a real person of this name?
Chosen by the IDENTITY_VERIFIER setting (a dotted path); accounts.realname asks it before it
binds an ID to an account or accepts a family member.

* `DemoIdentityVerifier` accepts every ID number that passes parse_resident_id (the name is
  optional). For the demo and the tests only.
* `PopulationServiceVerifier` asks the provincial population service over HTTP.

The population service protocol (what `PopulationServiceVerifier` speaks):

    POST {POPULATION_SERVICE_URL}
    Content-Type: application/json
    X-Timestamp: <unix seconds>
    X-Signature: hex(HMAC-SHA256(POPULATION_SERVICE_KEY, "<timestamp>\\n" + <body bytes>))

    {"id_number": "52011519900301001X", "name": "张三"}

    200 {"result": "match"}        the number exists and the name is its holder's
    200 {"result": "no_match"}     no such number, or the name is not its holder's
    401                            the signature (or timestamp) was refused
    5xx, a timeout, anything else  the service is unavailable

The key comes from the environment (POPULATION_SERVICE_KEY); the call waits at most
POPULATION_SERVICE_TIMEOUT_SECONDS. "Unavailable" (and a refused signature, which the citizen
cannot fix either) is never a crash: the caller answers "try again later" (503).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from enum import Enum
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class Verdict(Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    UNAVAILABLE = "unavailable"


class IdentityVerifier(Protocol):
    #: Whether a name must be given with the ID number (the demo verifier needs none).
    requires_name: bool

    def verify(self, id_number: str, name: str) -> Verdict:
        """The verdict on a validated, normalised ID number and the name given with it."""
        ...


class DemoIdentityVerifier:
    """Any well-formed ID number is a real person (the number was validated before)."""

    requires_name = False

    def verify(self, id_number: str, name: str) -> Verdict:
        return Verdict.MATCH


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The protocol's signature of a request body (module docstring)."""
    return hmac.new(key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class PopulationServiceVerifier:
    """The provincial population service (module docstring for the protocol)."""

    requires_name = True

    def __init__(
        self, url: str | None = None, key: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url if url is not None else settings.POPULATION_SERVICE_URL
        self.key = key if key is not None else settings.POPULATION_SERVICE_KEY
        self.timeout = timeout or settings.POPULATION_SERVICE_TIMEOUT_SECONDS

    def verify(self, id_number: str, name: str) -> Verdict:
        if not self.url.startswith(("https://", "http://")) or not self.key:
            return Verdict.UNAVAILABLE
        body = json.dumps({"id_number": id_number, "name": name}, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured service's
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": timestamp,
                "X-Signature": sign(self.key, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 # nosec B310
                result = json.loads(answer.read(4096) or b"{}").get("result")
        except (OSError, ValueError, AttributeError):  # URLError, HTTPError, timeout, bad JSON
            return Verdict.UNAVAILABLE
        if result == Verdict.MATCH.value:
            return Verdict.MATCH
        if result == Verdict.NO_MATCH.value:
            return Verdict.NO_MATCH
        return Verdict.UNAVAILABLE


def configured() -> IdentityVerifier:
    """The verifier the IDENTITY_VERIFIER setting names."""
    verifier: IdentityVerifier = import_string(settings.IDENTITY_VERIFIER)()
    return verifier
