from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_groups(sender: Any, apps: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Permissions of apps migrated after this one do not exist yet, so create them all first."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    from trafficdesk.accounts.services import sync_role_groups

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_role_groups()


class AccountsConfig(AppConfig):
    name = "trafficdesk.accounts"
    label = "accounts"
    verbose_name = _("accounts")

    def ready(self) -> None:
        post_migrate.connect(_sync_groups, sender=self, dispatch_uid="trafficdesk-sync-role-groups")
