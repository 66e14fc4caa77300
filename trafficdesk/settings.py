"""Django settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE

from trafficdesk import config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(config.env_str("TRAFFICDESK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = config.env_bool("DEBUG", False)
SECRET_KEY = config.secret_key(debug=DEBUG)
ALLOWED_HOSTS = config.env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = config.env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # the API docs page uses ninja's own Swagger UI files, not a CDN
    "django_tasks",
    "django_tasks_db",
    "trafficdesk.core",
    "trafficdesk.audit",
    "trafficdesk.accounts",
    "trafficdesk.staff",
    "trafficdesk.notify",
    "trafficdesk.regions",
    "trafficdesk.catalog",
    "trafficdesk.sites",
    "trafficdesk.policy",
    "trafficdesk.enterprises",
    "trafficdesk.booking",
    "trafficdesk.hallqueue",
    "trafficdesk.deferral",
    "trafficdesk.online",
    "trafficdesk.planning",
    "trafficdesk.checkpoint",
    "trafficdesk.dashboard",
    "trafficdesk.national",
    "trafficdesk.demo",
]

MIDDLEWARE = [
    # First, so that it counts and times every answer (/metrics, trafficdesk/core/metrics.py).
    "trafficdesk.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "trafficdesk.core.middleware.RequestSizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "trafficdesk.core.middleware.FreeTextMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trafficdesk.accounts.middleware.IdleTimeoutMiddleware",
    "trafficdesk.accounts.middleware.PasswordChangeRequiredMiddleware",
    "trafficdesk.core.middleware.RequestContextMiddleware",
    "trafficdesk.core.middleware.TryAgainMiddleware",
    "trafficdesk.accounts.middleware.LoginFirstMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trafficdesk.urls"
WSGI_APPLICATION = "trafficdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "trafficdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "trafficdesk.accounts.context_processors.navigation",
            ],
        },
    },
]


# How long a statement waits for a row lock before the answer is "busy, retry" (PostgreSQL).
# It is set once per connection (no statement per transaction); behind a pooler that drops
# connection options (PgBouncer in transaction mode), set LOCK_TIMEOUT_PER_TRANSACTION=true
# and every locking transaction sets it itself. BOOKING_LOCK_TIMEOUT_MS is its older name.
LOCK_TIMEOUT_MS = config.env_int(
    "LOCK_TIMEOUT_MS", config.env_int("BOOKING_LOCK_TIMEOUT_MS", 2000, minimum=10), minimum=10
)
# DATABASE_POOLER=pgbouncer: DATABASE_URL points at PgBouncer in transaction mode, which
# multiplexes transactions of many clients over few server connections: no server-side
# prepared statements, no server-side (WITH HOLD) cursors, no connection options, and every
# SET is a SET LOCAL inside a transaction (docs/scaling.md, "PgBouncer").
DATABASE_POOLER = config.env_str("DATABASE_POOLER", "")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise config.ConfigError("DATABASE_POOLER must be pgbouncer (or empty)")
LOCK_TIMEOUT_PER_TRANSACTION = (
    config.env_bool("LOCK_TIMEOUT_PER_TRANSACTION", False) or DATABASE_POOLER == "pgbouncer"
)
#: The lock timeout every connection already has (None: each transaction sets its own).
CONNECTION_LOCK_TIMEOUT_MS = None if LOCK_TIMEOUT_PER_TRANSACTION else LOCK_TIMEOUT_MS

#: Threads per server process that run sync views under ASGI, each with its persistent
#: database connection (trafficdesk/asgi.py); live streams run on the event loop beside them.
ASGI_SYNC_THREADS = config.env_int("ASGI_SYNC_THREADS", 4, minimum=1)

# Live screens (trafficdesk/core/live.py). LIVE_BACKEND: "postgres" (LISTEN/NOTIFY), "redis"
# (pub/sub) or "poll"; empty chooses Redis when REDIS_URL is set, else the database's own.
LIVE_BACKEND = config.env_str("LIVE_BACKEND", "")
if LIVE_BACKEND not in ("", "postgres", "redis", "poll"):
    raise config.ConfigError("LIVE_BACKEND must be postgres, redis or poll (or empty)")
LIVE_POLL_SECONDS = config.env_int("LIVE_POLL_MS", 250, minimum=20) / 1000
LIVE_SAMPLE_SECONDS = config.env_int("LIVE_SAMPLE_MS", 1000, minimum=100) / 1000
LIVE_STREAM_SECONDS = config.env_int("LIVE_STREAM_SECONDS", 300, minimum=5)
LIVE_KEEPALIVE_SECONDS = config.env_int("LIVE_KEEPALIVE_SECONDS", 15, minimum=1)
LIVE_RETRY_MS = 2000
LIVE_EVENT_RETENTION_SECONDS = config.env_int("LIVE_EVENT_RETENTION_SECONDS", 3600, minimum=60)


def database_settings(url: str, pooler: str = DATABASE_POOLER) -> dict[str, Any]:
    """One DATABASES entry from a URL; `pooler` is what stands between us and PostgreSQL."""
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": config.env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file (not memory) so that live-server threads and worker processes share it;
        # one per process so that parallel runs do not collide.
        db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    elif db["ENGINE"] == "django.db.backends.postgresql":
        db["CONN_HEALTH_CHECKS"] = True
        if pooler == "pgbouncer":
            # psycopg prepares a query it has run 5 times on "its" connection; behind
            # PgBouncer the next transaction may run on another server connection.
            db.setdefault("OPTIONS", {})["prepare_threshold"] = None
            db["DISABLE_SERVER_SIDE_CURSORS"] = True
        elif CONNECTION_LOCK_TIMEOUT_MS is not None:
            db.setdefault("OPTIONS", {})["options"] = (
                f"-c lock_timeout={CONNECTION_LOCK_TIMEOUT_MS}"
            )
    else:
        raise config.ConfigError(f"DATABASE_URL engine {db['ENGINE']} is not supported")
    return db


DATABASES = {
    "default": database_settings(
        config.env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'trafficdesk.sqlite3'}")
    )
}
# The live hub's LISTEN connection must reach PostgreSQL itself: LISTEN does not survive
# PgBouncer's transaction mode. LIVE_DATABASE_URL (direct to PostgreSQL; without a database
# name, the default connection's is used) is required behind PgBouncer with LIVE_BACKEND
# postgres; empty: the default connection's parameters.
LIVE_DATABASE_URL = config.env_str("LIVE_DATABASE_URL", "")
if (
    DATABASE_POOLER == "pgbouncer"
    and not LIVE_DATABASE_URL
    and LIVE_BACKEND in ("", "postgres")
    and not (LIVE_BACKEND == "" and config.env_str("REDIS_URL", ""))
):
    raise config.ConfigError(
        "behind PgBouncer the live screens need LIVE_DATABASE_URL (direct to PostgreSQL),"
        " REDIS_URL or LIVE_BACKEND=poll"
    )
# A PostgreSQL streaming replica for the read-only pages (trafficdesk/core/dbrouter.py,
# docs/scaling.md "Read replica"). Reads fall back to the primary when the replica is more
# than REPLICA_MAX_LAG_SECONDS behind (measured at most once per REPLICA_LAG_CHECK_MS per
# process) and, for as long, for the browser that just wrote.
REPLICA_DATABASE_URL = config.env_str("REPLICA_DATABASE_URL", "")
REPLICA_MAX_LAG_SECONDS = config.env_int("REPLICA_MAX_LAG_SECONDS", 5, minimum=1)
REPLICA_LAG_CHECK_MS = config.env_int("REPLICA_LAG_CHECK_MS", 1000, minimum=0)
REPLICA_WROTE_COOKIE = "td_wrote"
REPLICA_READ_VIEWS = config.env_list(
    "REPLICA_READ_VIEWS",
    ["dashboard:regional", "policy:open", "policy:overview", "deferral:report"],
)
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = database_settings(REPLICA_DATABASE_URL)
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise config.ConfigError("REPLICA_DATABASE_URL must be a PostgreSQL URL")
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests: the test database, replicated
    DATABASE_ROUTERS = ["trafficdesk.core.dbrouter.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "trafficdesk.core.dbrouter.ReplicaReadMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Content-Security-Policy on every response (django-csp; docs/security.md). Scripts only from
# the site itself or with the per-request nonce; no inline event handlers, no eval. Style
# attributes stay allowed (style-src-attr): ECharts writes its tooltips with them and a few
# fragments size bars with them; <style> elements and stylesheets are 'self' or nonce only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

REDIS_URL = config.env_str("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "trafficdesk",
        }
    }
    # Sessions read from Redis, written through to the database (not lost with Redis).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    SESSION_ENGINE = "trafficdesk.accounts.sessions"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "trafficdesk_cache",
            "OPTIONS": {"MAX_ENTRIES": config.env_int("CACHE_MAX_ENTRIES", 200_000, minimum=1000)},
        },
        # Rate-limit counters without Redis: in each server process's memory, so that a
        # request costs no database write; each process counts its own requests (README).
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "trafficdesk-ratelimit",
            "OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 10},
        },
    }
# Past one machine without Redis, RATELIMIT_PER_PROCESS=false counts every limit in the
# database cache, shared by all servers (scripts/run_cluster.py sets it; docs/scaling.md).
RATELIMIT_PER_PROCESS = config.env_bool("RATELIMIT_PER_PROCESS", True)
RATELIMIT_USE_CACHE = "ratelimit" if "ratelimit" in CACHES and RATELIMIT_PER_PROCESS else "default"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# One node per province (docs/adr/0003-province-databases.md): this node's 2-digit GB/T 2260
# province code ("" = a single node serving every region) and each province's node address
# ("52=https://52.example,42=https://42.example"), read by trafficdesk.core.provinces.
PROVINCE_CODE = config.env_str("PROVINCE_CODE", "")
PROVINCE_NODES: dict[str, str] = dict(
    entry.split("=", 1) for entry in config.env_list("PROVINCE_NODES", []) if "=" in entry
)
# A delivery task sends every queued notice; one per process in this many seconds serves them
# all (notify.services); 0: one task per notice.
SMS_DELIVERY_BATCH_SECONDS = config.env_int("SMS_DELIVERY_BATCH_MS", 500, minimum=0) / 1000

AUTH_USER_MODEL = "accounts.User"
# Who may do what: the access module, taken by interface by the admin base classes (core).
ACCESS_POLICY = "trafficdesk.accounts.access.POLICY"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "trafficdesk.accounts.backends.AccountBackend",
]
#: The backend a session made without a password (the SMS login, tests, benchmarks) names.
SESSION_AUTH_BACKEND = "trafficdesk.accounts.backends.AccountBackend"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:citizen-login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:home"

AXES_FAILURE_LIMIT = config.env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = config.env_int("AXES_COOLOFF_MINUTES", 30, minimum=1) / 60
# A username is locked from one address only: colleagues behind the hall's shared address
# still log in (django-axes 8: a list inside the list means "this combination").
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "trafficdesk.accounts.views.locked_out"
AXES_VERBOSE = False
# The reverse proxies whose X-Forwarded-For is believed (addresses/CIDRs; empty: nobody).
# One helper reads the caller's address for the rate limits, django-axes and the audit log.
TRUSTED_PROXIES = config.env_networks("TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "trafficdesk.core.clientip.client_ip"

OTP_LIFETIME_SECONDS = config.env_int("OTP_LIFETIME_SECONDS", 300, minimum=30)
OTP_MAX_ATTEMPTS = config.env_int("OTP_MAX_ATTEMPTS", 5, minimum=1)
OTP_RATE_PER_PHONE = config.env_str("OTP_RATE_PER_PHONE", "3/10m")
OTP_RATE_PER_IP = config.env_str("OTP_RATE_PER_IP", "20/h")
OTP_RATE_VERIFY_PER_IP = config.env_str("OTP_RATE_VERIFY_PER_IP", "30/10m")
# Codes sent to one number in the last 24 hours (counted from the stored challenges).
OTP_DAILY_LIMIT_PER_PHONE = config.env_int("OTP_DAILY_LIMIT_PER_PHONE", 10, minimum=1)
SMS_BACKEND = config.env_str("SMS_BACKEND", "trafficdesk.notify.backends.ConsoleSmsBackend")
# SMS gateways (notify.gateways; SMS_BACKEND=aliyun or tencent). Endpoints are settings so
# that tests point them at a local server; credentials come from the environment only.
SMS_TEMPLATES: dict[str, str] = json.loads(config.env_str("SMS_TEMPLATES", "{}") or "{}")
SMS_TEMPLATE_PARAM = config.env_str("SMS_TEMPLATE_PARAM", "content")
SMS_GATEWAY_TIMEOUT_SECONDS = config.env_int("SMS_GATEWAY_TIMEOUT_SECONDS", 10, minimum=1)
SMS_MAX_ATTEMPTS = config.env_int("SMS_MAX_ATTEMPTS", 3, minimum=1)
SMS_RETRY_BASE_SECONDS = config.env_int("SMS_RETRY_BASE_SECONDS", 60, minimum=1)
SMS_RECEIPT_TOKEN = config.env_str("SMS_RECEIPT_TOKEN", "")
SMS_ALIYUN_ACCESS_KEY_ID = config.env_str("SMS_ALIYUN_ACCESS_KEY_ID", "")
SMS_ALIYUN_ACCESS_KEY_SECRET = config.env_str("SMS_ALIYUN_ACCESS_KEY_SECRET", "")
SMS_ALIYUN_SIGN_NAME = config.env_str("SMS_ALIYUN_SIGN_NAME", "")
SMS_ALIYUN_REGION = config.env_str("SMS_ALIYUN_REGION", "cn-hangzhou")
SMS_ALIYUN_ENDPOINT = config.env_str("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
SMS_TENCENT_SECRET_ID = config.env_str("SMS_TENCENT_SECRET_ID", "")
SMS_TENCENT_SECRET_KEY = config.env_str("SMS_TENCENT_SECRET_KEY", "")
SMS_TENCENT_SDK_APP_ID = config.env_str("SMS_TENCENT_SDK_APP_ID", "")
SMS_TENCENT_SIGN_NAME = config.env_str("SMS_TENCENT_SIGN_NAME", "")
SMS_TENCENT_REGION = config.env_str("SMS_TENCENT_REGION", "ap-guangzhou")
SMS_TENCENT_ENDPOINT = config.env_str("SMS_TENCENT_ENDPOINT", "https://sms.tencentcloudapi.com/")

SESSION_COOKIE_AGE = config.env_int("SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=60)
SESSION_IDLE_SECONDS = config.env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and config.env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "trafficdesk" / "locale"]
TIME_ZONE = config.env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "trafficdesk" / "static"]
STATIC_ROOT = Path(config.env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Served as `manage.py collectstatic` wrote them (a deploy step; `make demo` runs it): names
# carry a hash of the content, so WhiteNoise lets browsers cache them for a year, and each file
# has a gzipped copy beside it. A page naming a file collectstatic did not see is an error.
# With DEBUG, names stay plain and files come straight from the app folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# LOG_FORMAT: "text" (`make demo`) or "json", one JSON object a line for a log collector
# (production, docs/scaling.md); personal data is masked in both.
LOG_FORMAT = config.env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise config.ConfigError("LOG_FORMAT must be text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "trafficdesk.core.logging.MaskPersonalDataFilter"}},
    "formatters": {"json": {"()": "trafficdesk.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["mask_personal_data"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": config.env_str("LOG_LEVEL", "INFO")},
    # A refused booking (409) or a bad request is an answer, not an incident.
    "loggers": {"django.request": {"level": "ERROR"}},
}

BOOKING_PRIORITY_SHARE = float(config.env_str("BOOKING_PRIORITY_SHARE", "0.2"))
if not 0 <= BOOKING_PRIORITY_SHARE < 1:
    raise config.ConfigError("BOOKING_PRIORITY_SHARE must lie in [0, 1)")
BOOKING_PRIORITY_RELEASE_HOURS = config.env_int("BOOKING_PRIORITY_RELEASE_HOURS", 24, minimum=0)
BOOKING_SLOT_MINUTES = config.env_int("BOOKING_SLOT_MINUTES", 60, minimum=10)
BOOKING_DAYS_AHEAD = config.env_int("BOOKING_DAYS_AHEAD", 7, minimum=1)
BOOKING_RELEASE_DELAY_SECONDS = config.env_int("BOOKING_RELEASE_DELAY_SECONDS", 1800, minimum=0)
BOOKING_NO_SHOW_LIMIT = config.env_int("BOOKING_NO_SHOW_LIMIT", 3, minimum=1)
BOOKING_NO_SHOW_WINDOW_DAYS = config.env_int("BOOKING_NO_SHOW_WINDOW_DAYS", 90, minimum=1)
BOOKING_BAN_DAYS = config.env_int("BOOKING_BAN_DAYS", 30, minimum=1)

# Real-name booking (accounts.realname): the caps on active bookings per account and per ID
# number, the family members an account may declare, and the identity verifier (a dotted
# path: the demo one, or accounts.verifiers.PopulationServiceVerifier in production).
BOOKING_MAX_ACTIVE_PER_ACCOUNT = config.env_int("BOOKING_MAX_ACTIVE_PER_ACCOUNT", 5, minimum=1)
BOOKING_MAX_ACTIVE_PER_ID = config.env_int("BOOKING_MAX_ACTIVE_PER_ID", 3, minimum=1)
FAMILY_MEMBERS_MAX = config.env_int("FAMILY_MEMBERS_MAX", 5, minimum=0)
IDENTITY_VERIFIER = config.env_str(
    "IDENTITY_VERIFIER", "trafficdesk.accounts.verifiers.DemoIdentityVerifier"
)
POPULATION_SERVICE_URL = config.env_str("POPULATION_SERVICE_URL", "")
POPULATION_SERVICE_KEY = config.env_str("POPULATION_SERVICE_KEY", "")
POPULATION_SERVICE_TIMEOUT_SECONDS = config.env_int(
    "POPULATION_SERVICE_TIMEOUT_SECONDS", 5, minimum=1
)

# Priority claims (SPEC R4-R6): the fair share of one enterprise in the priority hold, the
# online centre's review time for evidence, and the bar after false claims.
PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY = config.env_int(
    "PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY", 20, minimum=1
)
CLAIM_REVIEW_HOURS = config.env_int("CLAIM_REVIEW_HOURS", 4, minimum=1)
FALSE_CLAIMS_LIMIT = config.env_int("FALSE_CLAIMS_LIMIT", 2, minimum=1)
FALSE_CLAIMS_WINDOW_DAYS = config.env_int("FALSE_CLAIMS_WINDOW_DAYS", 90, minimum=1)
FALSE_CLAIMS_BAR_DAYS = config.env_int("FALSE_CLAIMS_BAR_DAYS", 30, minimum=1)
# A place freed after a draw is offered to the next on its waiting list, to accept within
# this many hours (each draw may set its own); no offer is made for a slot starting sooner
# than RUSH_OFFER_MIN_LEAD_MINUTES.
RUSH_OFFER_HOURS = config.env_int("RUSH_OFFER_HOURS", 24, minimum=1)
RUSH_OFFER_MIN_LEAD_MINUTES = config.env_int("RUSH_OFFER_MIN_LEAD_MINUTES", 60, minimum=0)

LOCAL_CACHE_SECONDS = config.env_int("LOCAL_CACHE_SECONDS", 2, minimum=0)
HALL_AGEING_MINUTES = config.env_int("HALL_AGEING_MINUTES", 20, minimum=1)
HALL_EARLY_MINUTES = config.env_int("HALL_EARLY_MINUTES", 30, minimum=0)
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
ONLINE_SLA_HOURS = config.env_int("ONLINE_SLA_HOURS", 24, minimum=1)
CARRIER_WEBHOOK_SECRETS = dict(
    pair.split(":", 1) for pair in config.env_list("CARRIER_WEBHOOK_SECRETS", []) if ":" in pair
)
CARRIER_WEBHOOK_MAX_SKEW_SECONDS = config.env_int(
    "CARRIER_WEBHOOK_MAX_SKEW_SECONDS", 300, minimum=10
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Uploaded files over 1 MB are spooled to a temporary file, never held in memory whole; a
# request body over REQUEST_MAX_BODY_BYTES (default: 10 attachments of 5 MB, and the form) is
# refused with 413 before it is read.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
REQUEST_MAX_BODY_BYTES = config.env_int(
    "REQUEST_MAX_BODY_BYTES", 51 * 1024 * 1024, minimum=6 * 1024 * 1024
)
CHECKPOINT_RETENTION_DAYS = config.env_int("CHECKPOINT_RETENTION_DAYS", 28, minimum=1)
BOOKING_RATE_PER_USER = config.env_str("BOOKING_RATE_PER_USER", "120/m")
# Anonymous checkpoint registrations per client address (page and API together).
CHECKPOINT_RATE_PER_IP = config.env_str("CHECKPOINT_RATE_PER_IP", "30/10m")

# Health checks and metrics (docs/scaling.md): /readyz gives the database and Redis this long;
# /metrics answers only these addresses (or networks), loopback by default.
READYZ_TIMEOUT_MS = config.env_int("READYZ_TIMEOUT_MS", 1000, minimum=50)
METRICS_ALLOWED_IPS = config.env_networks("METRICS_ALLOWED_IPS") or ["127.0.0.1", "::1"]
# The balancer's checks and the scraper speak plain HTTP to each server (HTTPS=true).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Tickets (walk-ins and check-ins) one registered hall kiosk may issue (page and API together).
KIOSK_RATE_PER_DEVICE = config.env_str("KIOSK_RATE_PER_DEVICE", "30/m")
