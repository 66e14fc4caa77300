"""The names of everything someone may or may not do. Who may do each is decided in one
place, `trafficdesk.accounts.access` (its RULES table has one entry per action)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # citizens (and, later, enterprise agents)
    BOOK = "booking.book"
    RUSH_APPLY = "rush.apply"
    RUSH_OFFER_ANSWER = "rush.offer"
    ONLINE_APPLY = "online.apply"
    ONLINE_RESUBMIT = "online.resubmit"
    ACCOUNT_VIEW = "accounts.view"
    REALNAME_MANAGE = "accounts.realname"
    SMS_LOGIN = "accounts.sms_login"
    # enterprises (单位用户): register, act as its agent, verify, grant priority classes
    ENTERPRISE_REGISTER = "enterprise.register"
    ENTERPRISE_ACT = "enterprise.act"
    ENTERPRISE_MANAGE_AGENTS = "enterprise.agents"
    ENTERPRISE_VERIFY = "enterprise.verify"
    PRIORITY_GRANT = "enterprise.grant"
    CLAIM_REVIEW = "claim.review"
    CLAIM_VERIFY = "claim.verify"
    # a booking: its holder, or staff of its region
    BOOKING_VIEW = "booking.view"
    BOOKING_CHANGE = "booking.change"
    BOOKING_NO_SHOW = "booking.no_show"
    BOOKING_CALENDAR = "booking.calendar"
    BOOKING_RECORDS = "booking.records"
    RUSH_OPEN = "rush.open"
    RUSH_ALLOCATE = "rush.allocate"
    RUSH_CHANGE = "rush.change"
    # the hall
    HALL_SERVE = "hall.serve"
    HALL_WATCH = "hall.watch"
    WINDOW_OPEN_CLOSE = "hall.window"
    KIOSK_MANAGE = "hall.kiosk"
    # sites, catalogue, regions, policy
    SITE_EDIT = "sites.edit"
    SITE_CREATE = "sites.create"
    CATALOG_EDIT = "catalog.edit"
    REGION_VIEW = "regions.view"
    REGION_EDIT = "regions.edit"
    RISK_SET = "risk.set"
    RISK_IMPORT = "risk.import"
    PHASE_SET = "phase.set"
    POLICY_PUBLISH = "policy.publish"
    POLICY_OVERVIEW = "policy.overview"
    EVENTS_READ = "policy.events"
    # deferral, online centre, checkpoints
    DEFERRAL_OPEN = "deferral.open"
    DEFERRAL_LOOKUP = "deferral.lookup"
    DEFERRAL_REPORT = "deferral.report"
    ONLINE_VIEW = "online.view"
    ONLINE_REVIEW = "online.review"
    ONLINE_PHONE_FILING = "online.phone_filing"
    CHECKPOINT_WATCH = "checkpoint.watch"
    CHECKPOINT_EDIT = "checkpoint.edit"
    # oversight
    DASHBOARD_VIEW = "dashboard.view"
    NATIONAL_VIEW = "national.view"
    PLAN_VIEW = "planning.view"
    AUDIT_READ = "audit.read"
    PERSONAL_DATA_REVEAL = "personal_data.view"
    OUTBOX_READ = "notify.outbox"
    OUTBOX_RETRY = "notify.retry"
    ADMIN_SITE = "admin.site"
    # staff accounts: create, edit, deactivate, reset passwords, unlock (regional administrators)
    STAFF_MANAGE = "accounts.staff"
