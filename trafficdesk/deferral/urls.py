from django.urls import path

from trafficdesk.deferral import views

app_name = "deferral"
urlpatterns = [
    path("lookup/", views.lookup, name="lookup"),
    path("report/", views.report, name="report"),
]
