from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.localcache import clear_all


class RegionsConfig(AppConfig):
    name = "trafficdesk.regions"
    label = "regions"
    verbose_name = _("regions")

    def ready(self) -> None:
        post_save.connect(clear_all, sender="regions.Region", dispatch_uid="localcache-region-save")
        post_delete.connect(
            clear_all, sender="regions.Region", dispatch_uid="localcache-region-del"
        )
