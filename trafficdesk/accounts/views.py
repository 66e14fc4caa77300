from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from trafficdesk.accounts import services
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.accounts.forms import CodeForm, MobileForm
from trafficdesk.core import ratelimits
from trafficdesk.core.actions import Action

OTP_SESSION_KEY = "otp_mobile"
NEXT_SESSION_KEY = "otp_next"


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/staff_login.html"
    redirect_authenticated_user = True


def _lockout_minutes() -> int:
    cool_off = get_cool_off()
    return round(cool_off.total_seconds() / 60) if cool_off else 0


def _lockout_ends(request: HttpRequest, credentials: dict[str, Any] | None) -> datetime:
    """When the lockout of this username from this address ends: the cool-off after its
    latest failure."""
    cool_off = get_cool_off(request) or timedelta(0)
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    latest = (
        AccessAttempt.objects.filter(username=username, ip_address=address)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return (latest or timezone.now()) + cool_off


def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes calls this once a username has failed too many times from one address:
    when to try again, and whom to ask."""
    credentials = kwargs.get("credentials") or next((a for a in args if isinstance(a, dict)), None)
    retry = _lockout_ends(request, credentials)
    local = timezone.localtime(retry)
    today = timezone.localdate()
    context = {
        "minutes": _lockout_minutes(),
        "retry_time": date_format(local, "H:i"),
        "retry_day": "" if local.date() == today else date_format(local, "DATE_FORMAT"),
    }
    return render(request, "accounts/locked_out.html", context, status=429)


@never_cache
@require_http_methods(["GET", "POST"])
def citizen_login(request: HttpRequest) -> HttpResponse:
    """Step 1: the citizen gives a mobile number and gets a code by SMS."""
    form = MobileForm(request.POST or None)
    wanted = request.GET.get("next") or request.POST.get("next")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, request.is_secure()
    ):
        request.session[NEXT_SESSION_KEY] = wanted
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            ratelimits.check_otp_request(request, mobile)
            sent = services.request_login_code(mobile)
        except ratelimits.RateLimited as exc:
            form.add_error(None, str(exc.message))
            response = render(request, "accounts/citizen_login.html", {"form": form}, status=429)
            response["Retry-After"] = str(exc.retry_after_seconds)
            return response
        request.session[OTP_SESSION_KEY] = mobile
        messages.info(
            request,
            _("If the number can receive SMS, a code was sent to %(mobile)s.")
            % {"mobile": sent.masked_mobile},
        )
        return render(
            request,
            "accounts/citizen_code.html",
            {"form": CodeForm(), "masked": sent.masked_mobile},
        )
    return render(
        request, "accounts/citizen_login.html", {"form": form}, status=422 if form.errors else 200
    )


@never_cache
@require_http_methods(["POST"])
def citizen_verify(request: HttpRequest) -> HttpResponse:
    """Step 2: the citizen types the code and is logged in."""
    form = CodeForm(request.POST)
    mobile = request.session.get(OTP_SESSION_KEY)
    if mobile is None:
        messages.error(request, _("Your login has expired; ask for a new code."))
        return redirect("accounts:citizen-login")
    if not form.is_valid():
        return render(request, "accounts/citizen_code.html", {"form": form}, status=422)
    try:
        ratelimits.check_otp_verify(request)
    except ratelimits.RateLimited as exc:
        form.add_error(None, str(exc.message))
        return render(request, "accounts/citizen_code.html", {"form": form}, status=429)
    try:
        user = services.verify_login_code(mobile, form.cleaned_data["code"])
    except (services.OtpRejected, ValueError):
        form.add_error("code", _("The code is wrong or has expired. Ask for a new one if needed."))
        return render(request, "accounts/citizen_code.html", {"form": form}, status=400)
    login(request, user, backend=settings.SESSION_AUTH_BACKEND)
    request.session.pop(OTP_SESSION_KEY, None)
    return redirect(request.session.pop(NEXT_SESSION_KEY, None) or "accounts:me")


@permission_required(Action.ACCOUNT_VIEW)
def me(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/me.html")
