from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.localcache import clear_all


class SitesConfig(AppConfig):
    name = "trafficdesk.sites"
    label = "sites"
    verbose_name = _("sites")

    def ready(self) -> None:
        for model in ("sites.ServicePoint", "sites.Window", "sites.Zone"):
            post_save.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-save")
            post_delete.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-del")
