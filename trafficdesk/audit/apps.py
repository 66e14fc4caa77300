from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "trafficdesk.audit"
    label = "audit"
    verbose_name = _("audit")

    def ready(self) -> None:
        # local import: both modules need the models, which load after the app configs
        from trafficdesk.accounts import realname
        from trafficdesk.accounts.access import denied
        from trafficdesk.audit.services import record_change, record_refusal, record_sms_retry
        from trafficdesk.notify.services import retried_by_staff

        denied.connect(record_refusal, dispatch_uid="audit-record-refusal")
        realname.changed.connect(record_change, dispatch_uid="audit-record-realname")
        retried_by_staff.connect(record_sms_retry, dispatch_uid="audit-record-sms-retry")
