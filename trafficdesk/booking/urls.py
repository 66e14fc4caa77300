from django.urls import path

from trafficdesk.booking import rush_views, views

app_name = "booking"
urlpatterns = [
    path("", views.choose, name="choose"),
    path("slot/<int:slot_id>/", views.book_slot, name="book"),
    path("mine/", views.mine, name="mine"),
    path("b/<str:token>/", views.detail, name="detail"),
    path("b/<str:token>/cancel/", views.cancel, name="cancel"),
    path("b/<str:token>/no-show/", views.no_show, name="no-show"),
    path("calendar/", views.calendar, name="calendar"),
    path("claims/", views.claim_queue, name="claims"),
    path("fleet/<int:enterprise_id>/", views.fleet_bookings, name="fleet"),
    path("claims/<int:claim_id>/evidence/", views.claim_evidence, name="claim-evidence"),
    path("rush/<int:rush_id>/events/", views.rush_events, name="rush-events"),
    path("rush/open/", views.rush_open, name="rush-open"),
    path("rush/", rush_views.rush_list, name="rush-list"),
    path("rush/<int:rush_id>/", rush_views.rush_page, name="rush"),
    path("rush/<int:rush_id>/draw.json", rush_views.rush_record, name="rush-record"),
    path("rush/<int:rush_id>/change/", rush_views.rush_change, name="rush-change"),
    path("rush/offers/<int:offer_id>/", rush_views.answer_offer, name="rush-offer"),
]
