"""The caller's address behind reverse proxies (trafficdesk.core.clientip): X-Forwarded-For
only from TRUSTED_PROXIES, the right-most address that is not itself a trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from trafficdesk import config
from trafficdesk.core.clientip import client_ip, resolve

PROXIES = ("10.0.0.0/8", "192.0.2.10")


def test_spoofed_forwarded_for_from_an_untrusted_client_is_ignored() -> None:
    assert resolve("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"
    assert resolve("203.0.113.7", "1.2.3.4", ()) == "203.0.113.7"


def test_nobody_is_trusted_by_default() -> None:
    assert resolve("10.0.0.5", "198.51.100.1", ()) == "10.0.0.5"


def test_one_trusted_proxy() -> None:
    assert resolve("10.0.0.5", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_chain_through_two_proxies() -> None:
    # client -> CDN/edge 192.0.2.10 -> internal balancer 10.0.0.5 -> the server
    assert resolve("10.0.0.5", "198.51.100.1, 192.0.2.10", PROXIES) == "198.51.100.1"


def test_a_client_prepending_a_fake_hop_gets_its_own_address() -> None:
    # The client wrote "6.6.6.6"; the edge proxy appended the address it saw.
    assert resolve("10.0.0.5", "6.6.6.6, 198.51.100.1, 192.0.2.10", PROXIES) == "198.51.100.1"


def test_garbage_and_ports_and_ipv6() -> None:
    assert resolve("10.0.0.5", "not-an-ip", PROXIES) == "10.0.0.5"
    assert resolve("10.0.0.5", "198.51.100.1:5123", PROXIES) == "198.51.100.1"
    assert resolve("10.0.0.5", "[2001:db8::1]:443", PROXIES) == "2001:db8::1"
    assert resolve("::ffff:10.0.0.5", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert resolve(None, "198.51.100.1", PROXIES) is None


def test_the_request_helper_reads_the_setting(settings: Any) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == "127.0.0.1"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request) == "198.51.100.9"


def test_axes_and_the_audit_use_the_same_helper(settings: Any) -> None:
    from axes.helpers import get_client_ip_address

    from trafficdesk.core.context import client_ip as context_ip

    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert settings.AXES_CLIENT_IP_CALLABLE == "trafficdesk.core.clientip.client_ip"
    assert get_client_ip_address(request) == context_ip(request) == "198.51.100.9"


def test_bad_trusted_proxies_fail_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")
    with pytest.raises(config.ConfigError):
        config.env_networks("TRUSTED_PROXIES")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert config.env_networks("TRUSTED_PROXIES") == ["10.0.0.0/8", "192.0.2.1"]
