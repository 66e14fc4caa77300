from django.contrib.auth import views as auth_views
from django.urls import path

from trafficdesk.accounts import realname_views, views

app_name = "accounts"
urlpatterns = [
    path("staff/login/", views.StaffLoginView.as_view(), name="staff-login"),
    path("login/", views.citizen_login, name="citizen-login"),
    path("login/verify/", views.citizen_verify, name="citizen-verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("me/", views.me, name="me"),
    path("realname/", realname_views.page, name="realname"),
    path("realname/family/<int:member_id>/remove/", realname_views.remove, name="realname-remove"),
]
