"""Every code of the product's vocabularies has a label, and the label is Chinese in zh-Hans:
pages show labels, never codes such as EMERGENCY, LOW or checked_in."""

from __future__ import annotations

import inspect
import re

import pytest
from django.db import models
from django.utils import translation

from trafficdesk.core import vocabulary

CHINESE = re.compile(r"[\u4e00-\u9fff]")
VOCABULARIES = [
    member
    for _name, member in inspect.getmembers(vocabulary, inspect.isclass)
    if issubclass(member, models.TextChoices) and member.__module__ == vocabulary.__name__
]


def test_the_vocabularies_are_found() -> None:
    names = {v.__name__ for v in VOCABULARIES}
    assert {"ApplicantClass", "RiskLevel", "BookingStatus", "TicketStatus"} <= names


@pytest.mark.parametrize("choices", VOCABULARIES, ids=lambda c: c.__name__)
def test_every_code_has_a_chinese_label(choices: type[models.TextChoices]) -> None:
    with translation.override("zh-hans"):
        labels = {member.value: str(member.label) for member in choices}
    not_chinese = {code: label for code, label in labels.items() if not CHINESE.search(label)}
    assert not not_chinese, f"{choices.__name__} codes without a Chinese label: {not_chinese}"
