from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "trafficdesk.core"
    label = "core"
