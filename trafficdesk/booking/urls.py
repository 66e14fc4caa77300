from django.urls import path

from trafficdesk.booking import choose_views, rush_views, views, visit_views

app_name = "booking"
urlpatterns = [
    path("", choose_views.choose, name="choose"),
    path("places/", choose_views.places, name="places"),
    path("at/<str:code>/", choose_views.point_days, name="point"),
    path("slot/<int:slot_id>/", choose_views.book_slot, name="book"),
    path("mine/", visit_views.mine, name="mine"),
    path("point/slots/", views.make_my_point_slots, name="make-slots"),
    path("b/<str:token>/", visit_views.detail, name="detail"),
    path("b/<str:token>/cancel/", visit_views.cancel, name="cancel"),
    path("b/<str:token>/reschedule/", visit_views.reschedule, name="reschedule"),
    path("b/<str:token>/booking.ics", visit_views.calendar_file, name="ics"),
    path("b/<str:token>/no-show/", visit_views.no_show, name="no-show"),
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
