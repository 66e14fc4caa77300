from django.urls import path

from trafficdesk.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.regional, name="regional"),
]
