from django.urls import path

from trafficdesk.hallqueue import views

app_name = "hallqueue"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("mine/", views.my_hall, name="my-hall"),
    path("console/<str:action>/", views.console_action, name="console-action"),
    path("<str:point>/kiosk/", views.kiosk, name="kiosk"),
    path("<str:point>/kiosk/pair/", views.kiosk_pair, name="kiosk-pair"),
    path("<str:point>/kiosks/", views.kiosks, name="kiosks"),
    path("<str:point>/board/", views.board, name="board"),
    path("<str:point>/board/events/", views.board_events, name="board-events"),
    path("<str:point>/board/state/", views.board_state, name="board-state"),
    path("<str:point>/manage/", views.manager, name="manager"),
    path("<str:point>/events/", views.hall_events, name="hall-events"),
]
