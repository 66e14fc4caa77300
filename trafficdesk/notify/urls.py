from django.urls import path

from trafficdesk.notify import views

app_name = "notify"
urlpatterns = [
    path("receipts/aliyun/<str:token>/", views.aliyun_receipt, name="receipt-aliyun"),
    path("receipts/tencent/<str:token>/", views.tencent_receipt, name="receipt-tencent"),
]
