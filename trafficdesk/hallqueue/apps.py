from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HallqueueConfig(AppConfig):
    name = "trafficdesk.hallqueue"
    label = "hallqueue"
    verbose_name = _("hall queue")

    def ready(self) -> None:
        # local import: the tasks need the models, which load after the app configs
        from trafficdesk.hallqueue.tasks import enqueue_end_stranded
        from trafficdesk.policy.services import policy_changed

        policy_changed.connect(enqueue_end_stranded, dispatch_uid="hallqueue-end-stranded")
