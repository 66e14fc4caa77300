from __future__ import annotations

import logging

import pytest

from trafficdesk import config
from trafficdesk.core.logging import MaskPersonalDataFilter


def test_bool_int_and_list_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert config.env_bool("X_BOOL", False) is True
    assert config.env_int("X_INT", 1) == 42
    assert config.env_list("X_LIST", []) == ["a", "b", "c"]
    assert config.env_int("X_MISSING", 7) == 7


@pytest.mark.parametrize(
    ("name", "value"), [("X_BOOL", "maybe"), ("X_INT", "4.5"), ("X_INT", "-1")]
)
def test_bad_values_fail_loudly(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        if name == "X_BOOL":
            config.env_bool(name, False)
        else:
            config.env_int(name, 1, minimum=0)


def test_default_or_short_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError):
        config.secret_key(debug=False)
    assert config.secret_key(debug=True).startswith(config.INSECURE_SECRET_PREFIX)
    monkeypatch.setenv("SECRET_KEY", config.INSECURE_SECRET_PREFIX + "x" * 40)
    with pytest.raises(config.ConfigError):
        config.secret_key(debug=False)
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(config.ConfigError):
        config.secret_key(debug=False)
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    assert config.secret_key(debug=False) == "k" * 50


def test_log_lines_mask_ids_and_mobiles() -> None:
    record = logging.LogRecord(
        "t",
        logging.INFO,
        __file__,
        1,
        "id %s phone %s",
        ("11010519491231002X", "13912345678"),
        None,
    )
    MaskPersonalDataFilter().filter(record)
    message = record.getMessage()
    assert "11010519491231002X" not in message and "13912345678" not in message
    assert "1101**********002X" in message and "139****5678" in message
