from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CoreConfig(AppConfig):
    name = "trafficdesk.core"
    label = "core"

    def ready(self) -> None:
        from trafficdesk.catalog.models import Business
        from trafficdesk.core.localcache import clear_all
        from trafficdesk.sites.models import ServicePoint, Window, Zone

        for model in (Business, ServicePoint, Window, Zone):
            post_save.connect(
                clear_all, sender=model, dispatch_uid=f"localcache-{model.__name__}-save"
            )
            post_delete.connect(
                clear_all, sender=model, dispatch_uid=f"localcache-{model.__name__}-delete"
            )
