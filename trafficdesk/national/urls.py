from django.urls import path

from trafficdesk.national import views

app_name = "national"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
