"""Set up the logical replication of the national view (idempotent; docs/scaling.md).

manage.py national_setup --role province                    # publish this province's rows
manage.py national_setup --role national --province 52=URL --province 42=URL
manage.py national_setup --role province --national-url URL # then receive the others'
manage.py national_setup --haproxy-map                      # print the balancer's map
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trafficdesk.core import provinces
from trafficdesk.national import replication


class Command(BaseCommand):
    help = "Create the publications and subscriptions of the national view (idempotent)."
    requires_system_checks: list[str] = []  # a database job, run from timers and scripts

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", choices=["province", "national"])
        parser.add_argument("--province", action="append", default=[], metavar="CODE=URL")
        parser.add_argument("--national-url", default="")
        parser.add_argument("--haproxy-map", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["haproxy_map"]:
            self.stdout.write(provinces.haproxy_map(), ending="")
            return
        try:
            if options["role"] == "province":
                code = provinces.home_province()
                if not code:
                    raise CommandError("Set PROVINCE_CODE for a province node.")
                done = replication.setup_province(code, options["national_url"])
            elif options["role"] == "national":
                nodes = dict(p.split("=", 1) for p in options["province"] if "=" in p)
                if not nodes:
                    raise CommandError("Name each province: --province 52=postgres://...")
                done = replication.setup_national(nodes)
            else:
                raise CommandError("Choose --role province or --role national.")
        except replication.ReplicationSetupError as exc:
            raise CommandError(str(exc)) from exc
        for line in done or ["nothing to do: already set up"]:
            self.stdout.write(line)
