from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HallqueueConfig(AppConfig):
    name = "trafficdesk.hallqueue"
    label = "hallqueue"
    verbose_name = _("hall queue")
