"""Settings for the test suite: the real settings, with a throwaway secret and test doubles
only where the real thing is external (SMS goes to an in-process outbox)."""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(48))
os.environ.setdefault("SMS_BACKEND", "trafficdesk.notify.backends.MemorySmsBackend")
# Same limits as production, over day-long windows, so that a test's few quick requests never
# straddle two windows (django-ratelimit uses fixed windows).
os.environ.setdefault("OTP_RATE_PER_PHONE", "3/d")
os.environ.setdefault("OTP_RATE_PER_IP", "20/d")

from trafficdesk.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages name static files unhashed, served from the app folders (no collectstatic for each test
# run). The production storage (hashed names, gzip, long caching) is what the real server of
# tests/real_server.py serves, from a collectstatic made once per test process, and what
# tests/dashboard/test_static_files.py checks.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Each test client builds its own handler, and WhiteNoise's middleware would list every static
# file (and every finder's) as it starts: ~30 ms per client, over a thousand clients a pass.
# With autorefresh it finds a file when one is asked for instead (as in development).
WHITENOISE_AUTOREFRESH = True
