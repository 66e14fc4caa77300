from django.urls import path

from trafficdesk.sites import views

app_name = "sites"
urlpatterns = [
    path("", views.service_point_list, name="list"),
    path("mine/", views.my_service_point, name="mine"),
]
