from django.urls import path

from trafficdesk.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.what_is_open, name="open"),
    path("overview/", views.overview, name="overview"),
]
