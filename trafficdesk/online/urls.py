from django.urls import path

from trafficdesk.online import views

app_name = "online"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("apply/<str:code>/", views.apply, name="apply"),
    path("mine/", views.mine, name="mine"),
    path("a/<str:reference>/", views.detail, name="detail"),
    path("a/<str:reference>/act/", views.act, name="act"),
    path("a/<str:reference>/withdraw/", views.withdraw, name="withdraw"),
    path("queue/", views.queue, name="queue"),
    path("phone/<str:code>/", views.phone, name="phone"),
    path("fleet/<int:enterprise_id>/", views.fleet, name="fleet"),
]
