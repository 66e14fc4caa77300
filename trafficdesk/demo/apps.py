from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data loader (`manage.py load_demo`): it sits above every domain app and
    writes through their services."""

    name = "trafficdesk.demo"
    label = "demo"
    verbose_name = _("demo data")
