from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from trafficdesk.api import api
from trafficdesk.checkpoint import views as checkpoint_views
from trafficdesk.core import health
from trafficdesk.metrics import metrics_view
from trafficdesk.planning import views as planning_views

admin.site.site_header = "TrafficDesk 交管服务"
admin.site.site_title = "TrafficDesk"

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; the file is a static one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"))),
    # For the load balancer and the monitoring (docs/scaling.md): not pages.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("trafficdesk.accounts.urls")),
    path("accounts/", include("trafficdesk.staff.urls")),
    path("audit/", include("trafficdesk.audit.urls")),
    path("notify/", include("trafficdesk.notify.urls")),
    path("regions/", include("trafficdesk.regions.urls")),
    path("catalog/", include("trafficdesk.catalog.urls")),
    path("sites/", include("trafficdesk.sites.urls")),
    path("checkpoints/", include("trafficdesk.checkpoint.urls")),
    path("open/", include("trafficdesk.policy.urls")),
    path("enterprises/", include("trafficdesk.enterprises.urls")),
    path("booking/", include("trafficdesk.booking.urls")),
    path("hall/", include("trafficdesk.hallqueue.urls")),
    path("deferral/", include("trafficdesk.deferral.urls")),
    path("online/", include("trafficdesk.online.urls")),
    path("national/", include("trafficdesk.national.urls")),
    path("planning/", planning_views.planner, name="planner"),
    path("c/<str:code>/", checkpoint_views.register, name="register"),
    path("c/<str:code>/r/<str:token>/", checkpoint_views.receipt, name="receipt"),
    path("", include("trafficdesk.dashboard.urls")),
]
