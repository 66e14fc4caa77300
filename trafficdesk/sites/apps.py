from typing import Any

from django.apps import AppConfig
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.localcache import clear_all


def window_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A window or what it serves changed: raise its revision (see Window.revision)."""
    if kwargs.get("action", "post_").startswith("pre_") or kwargs.get("raw"):
        return
    from trafficdesk.sites.models import Window  # local import: after the app registry

    if isinstance(instance, Window):
        Window.objects.filter(pk=instance.pk).update(revision=F("revision") + 1)
    elif kwargs.get("pk_set") is None:  # a business's windows cleared: which, unknown
        Window.objects.update(revision=F("revision") + 1)
    else:  # the business side of the relation: the windows in pk_set
        Window.objects.filter(pk__in=kwargs["pk_set"]).update(revision=F("revision") + 1)
    clear_all()


class SitesConfig(AppConfig):
    name = "trafficdesk.sites"
    label = "sites"
    verbose_name = _("sites")

    def ready(self) -> None:
        from trafficdesk.sites.models import Window  # local import: after the app registry

        for model in ("sites.ServicePoint", "sites.Window", "sites.Zone"):
            post_save.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-save")
            post_delete.connect(clear_all, sender=model, dispatch_uid=f"localcache-{model}-del")
        post_save.connect(window_changed, sender=Window, dispatch_uid="window-revision-save")
        m2m_changed.connect(
            window_changed, sender=Window.businesses.through, dispatch_uid="window-revision-m2m"
        )
