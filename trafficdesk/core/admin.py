"""Base classes for the Django admin: who may see and change what comes from the access
policy, and every change goes through a service function.

The foundation does not know the access module; it takes it by interface (`AccessPolicy`),
named in settings.ACCESS_POLICY, as Django takes its authentication backends.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Protocol, TypeVar

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.module_loading import import_string

from trafficdesk.core.errors import Refusal

M = TypeVar("M", bound=Model)


class AccessPolicy(Protocol):
    def allows(self, actor: Any, action: str, target: Any = None) -> bool: ...

    def scope(self, actor: Any, queryset: QuerySet[M], action: str) -> QuerySet[M]: ...

    def check(self, actor: Any, action: str, target: Any = None) -> None: ...


@cache
def access_policy() -> AccessPolicy:
    policy: AccessPolicy = import_string(settings.ACCESS_POLICY)
    return policy


class GuardedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """An admin page whose permissions are actions of the access policy.

    `view_action` lets staff see the list (scoped to what the action allows them);
    `change_action`, `add_action` and `delete_action` (None: nobody) allow the changes.
    Subclasses that allow changes implement `save_through_service` (and
    `delete_through_service`), which call the app's services: those check access again,
    validate, write and audit, exactly as for the pages and the API."""

    view_action: ClassVar[str | None] = None
    change_action: ClassVar[str | None] = None
    add_action: ClassVar[str | None] = None
    delete_action: ClassVar[str | None] = None

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A service's refusal is shown on the page, not as an error. A change the user may
        not make is refused (and audited) before Django's transaction opens, so the audit
        entry of the refusal is kept."""
        self._check_before_saving(
            request, object_id, self.change_action if object_id else self.add_action
        )
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refusal as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._check_before_saving(request, object_id, self.delete_action)
        try:
            return super().delete_view(request, object_id, extra_context)
        except Refusal as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def _check_before_saving(
        self, request: HttpRequest, object_id: str | None, action: str | None
    ) -> None:
        if request.method != "POST" or action is None:
            return
        target = self.get_object(request, object_id) if object_id else None
        if object_id and target is None:
            return  # not in this user's list: Django answers that it does not exist
        access_policy().check(request.user, action, target)

    def _allows(self, request: HttpRequest, action: str | None, obj: Any = None) -> bool:
        return action is not None and access_policy().allows(request.user, action, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return any(
            self._allows(request, a)
            for a in (self.view_action, self.change_action, self.add_action)
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.view_action, obj) or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.change_action, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allows(request, self.add_action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.delete_action, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        action = self.view_action or self.change_action
        if action is None:
            return queryset.none()
        return access_policy().scope(request.user, queryset, action)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        saved = self.save_through_service(request, obj, form, change)
        obj.pk = saved.pk

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Model:
        raise NotImplementedError(f"{type(self).__name__} saves only through a service")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_through_service(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """All of them or none: a refusal for one keeps them all, and says why."""
        try:
            with transaction.atomic():
                for obj in queryset:
                    self.delete_through_service(request, obj)
        except Refusal as exc:
            messages.error(request, exc.message)

    def delete_through_service(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} deletes only through a service")


class ReadOnlyAdmin(GuardedAdmin):
    """Records written by the system; staff read them (those `view_action` allows)."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.view_action, obj)


class AppendOnlyAdmin(GuardedAdmin):
    """Records are added (through a service) and kept: nobody changes or deletes them."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allows(request, self.view_action, obj) or self._allows(
            request, self.add_action, obj
        )
