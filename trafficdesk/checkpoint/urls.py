from django.urls import path

from trafficdesk.checkpoint import views

app_name = "checkpoint"
urlpatterns = [path("", views.checkpoint_list, name="list")]
