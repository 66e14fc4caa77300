from django.urls import path

from trafficdesk.staff import views

app_name = "staff"
urlpatterns = [
    path("password/", views.password_change, name="password-change"),
    path("staff/", views.staff_list, name="list"),
    path("staff/new/", views.staff_new, name="new"),
    path("staff/<str:username>/", views.staff_edit, name="edit"),
    path("staff/<str:username>/active/", views.staff_active, name="active"),
    path(
        "staff/<str:username>/password/",
        views.staff_reset_password,
        name="reset-password",
    ),
    path("staff/<str:username>/unlock/", views.staff_unlock, name="unlock"),
]
