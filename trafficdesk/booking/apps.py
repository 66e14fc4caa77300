from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "trafficdesk.booking"
    label = "booking"
    verbose_name = _("booking")

    def ready(self) -> None:
        # local import: both modules need the models, which load after the app configs
        from trafficdesk.booking.tasks import enqueue_point_slots, enqueue_rebooking
        from trafficdesk.policy.services import policy_changed
        from trafficdesk.sites.services import hall_slots_may_change

        policy_changed.connect(enqueue_rebooking, dispatch_uid="booking-rebook-on-policy-change")
        hall_slots_may_change.connect(
            enqueue_point_slots, dispatch_uid="booking-slots-on-hall-change"
        )
