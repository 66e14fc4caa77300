from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "trafficdesk.policy"
    label = "policy"
    verbose_name = _("reopening policy")

    def ready(self) -> None:
        # local import: both modules need the models, which load after the app configs
        from trafficdesk.policy.services import record_risk_event
        from trafficdesk.regions.services import risk_level_changed

        risk_level_changed.connect(record_risk_event, dispatch_uid="policy-record-risk-event")
