"""Shared test settings. Ray 2.60 enables token authentication by default: local test clusters run without it."""

import os

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
