from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.localcache import clear_all


class CatalogConfig(AppConfig):
    name = "trafficdesk.catalog"
    label = "catalog"
    verbose_name = _("catalog")

    def ready(self) -> None:
        for model in ("catalog.Business", "catalog.BusinessCategory"):
            post_save.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-save")
            post_delete.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-del")
