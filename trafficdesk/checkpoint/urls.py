from django.urls import path

from trafficdesk.checkpoint import views

app_name = "checkpoint"
urlpatterns = [
    path("", views.checkpoint_list, name="list"),
    path("<str:code>/console/", views.console, name="console"),
    path("<str:code>/console/events/", views.console_events, name="console-events"),
    path("<str:code>/export.<str:kind>", views.export, name="export"),
    path("<str:code>/qr.<str:kind>", views.qr, name="qr"),
    path("<str:code>/origin/", views.origin_fields, name="origin"),
]
