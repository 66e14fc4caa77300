from django.urls import path

from trafficdesk.regions import views

app_name = "regions"
urlpatterns = [
    path("risk/", views.risk_overview, name="risk"),
    path("risk/import/", views.risk_import, name="risk-import"),
    path("risk/<str:code>/", views.risk_change, name="risk-change"),
]
