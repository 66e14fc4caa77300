from django.urls import path

from trafficdesk.catalog import views

app_name = "catalog"
urlpatterns = [path("", views.business_list, name="list")]
