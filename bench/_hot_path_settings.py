"""Settings of the hot-path probe: the product's own, with the lean reference endpoints
mounted beside its URLs (bench/_lean_reference.py)."""

from trafficdesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench._lean_reference"
