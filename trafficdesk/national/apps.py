from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NationalConfig(AppConfig):
    name = "trafficdesk.national"
    label = "national"
    verbose_name = _("national view")

    def ready(self) -> None:
        # local import: both modules need the models, which load after the app configs
        from trafficdesk.national.services import publish_risk_change
        from trafficdesk.regions.services import risk_level_changed

        risk_level_changed.connect(publish_risk_change, dispatch_uid="national-publish-risk")
