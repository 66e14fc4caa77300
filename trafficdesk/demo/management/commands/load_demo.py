from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trafficdesk.demo.services import (
    DEMO_AGENT_MOBILE,
    DEMO_CITIZEN_ID_NUMBER,
    DEMO_CITIZEN_MOBILE,
    DEMO_KIOSK_HALL,
    load_demo,
    load_demo_kiosk,
)


class Command(BaseCommand):
    help = (
        "Load the demo data: Guizhou, Guiyang halls, Guiyang North toll station, a user per role."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        logins = load_demo()
        self.stdout.write(
            self.style.SUCCESS("Demo data loaded. Logins (staff: /accounts/staff/login/):")
        )
        for login in logins:
            self.stdout.write(
                f"  {login.role:<20} {login.username:<15} {login.password}  region {login.region}"
            )
        self.stdout.write(
            f"  {'citizen':<20} mobile {DEMO_CITIZEN_MOBILE} at /accounts/login/; "
            "the SMS code is printed on this console; book with the made-up ID number "
            f"{DEMO_CITIZEN_ID_NUMBER} (the first booking binds it to the account)"
        )
        self.stdout.write(
            f"  {'enterprise agent':<20} mobile {DEMO_AGENT_MOBILE} at /accounts/login/, "
            "then /enterprises/ (a verified freight company holding RESUMPTION, two lorries)"
        )
        pairing = load_demo_kiosk()
        kiosk = f"/hall/{DEMO_KIOSK_HALL}/kiosk/"
        if pairing:
            self.stdout.write(
                f"  {'kiosk':<20} open {pairing} once on the kiosk screen (this server's "
                f"address first), then {kiosk}; or log in as clerk or manager to use {kiosk}"
            )
        else:
            self.stdout.write(
                f"  {'kiosk':<20} the demo kiosk is paired; log in as clerk or manager to use "
                f"{kiosk} elsewhere, or register another kiosk on /hall/{DEMO_KIOSK_HALL}/kiosks/"
            )
