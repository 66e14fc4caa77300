from django.urls import path

from trafficdesk.enterprises import views

app_name = "enterprises"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("<int:enterprise_id>/", views.detail, name="detail"),
    path("review/", views.review, name="review"),
]
