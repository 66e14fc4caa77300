"""Typed helpers that read configuration from the environment and fail loudly on bad values."""

from __future__ import annotations

import ipaddress
import os

INSECURE_SECRET_PREFIX = "insecure-dev-only-"  # noqa: S105 - a marker, not a secret


class ConfigError(RuntimeError):
    """Raised at start-up when an environment variable holds a value we cannot use."""


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_networks(name: str) -> list[str]:
    """Comma-separated IP addresses or CIDRs (TRUSTED_PROXIES); empty by default."""
    entries = env_list(name, [])
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{name}: {entry!r} is not an IP address or CIDR") from exc
    return entries


def secret_key(*, debug: bool) -> str:
    """The SECRET_KEY; a development key is only accepted while DEBUG is on."""
    value = os.environ.get("SECRET_KEY", "")
    if value:
        if value.startswith(INSECURE_SECRET_PREFIX) and not debug:
            raise ConfigError("SECRET_KEY is the development default; set a real secret")
        if len(value) < 32 and not debug:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        return value
    if not debug:
        raise ConfigError("SECRET_KEY is required when DEBUG is off")
    return INSECURE_SECRET_PREFIX + "trafficdesk-local-key-do-not-deploy"
