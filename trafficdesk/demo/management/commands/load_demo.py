from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trafficdesk.demo.services import DEMO_AGENT_MOBILE, DEMO_CITIZEN_MOBILE, load_demo


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
            "the SMS code is printed on this console"
        )
        self.stdout.write(
            f"  {'enterprise agent':<20} mobile {DEMO_AGENT_MOBILE} at /accounts/login/, "
            "then /enterprises/ (a verified freight company holding RESUMPTION, two lorries)"
        )
