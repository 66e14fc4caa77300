from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeferralConfig(AppConfig):
    name = "trafficdesk.deferral"
    label = "deferral"
    verbose_name = _("deferral")
