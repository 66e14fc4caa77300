"""Settings of the hot-path probe: the product's own, with the lean reference endpoints
mounted beside its URLs (bench/_lean_reference.py)."""

from trafficdesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench._lean_reference"

import os  # noqa: E402

if os.environ.get("HOT_PATH_EXPERIMENT_MIDDLEWARE"):  # for finding where the cost goes
    MIDDLEWARE = os.environ["HOT_PATH_EXPERIMENT_MIDDLEWARE"].split(",")
