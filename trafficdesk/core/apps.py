from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: configuration, validators, vocabularies, locking, caches. It imports
    no domain app (tests/architecture)."""

    name = "trafficdesk.core"
    label = "core"
