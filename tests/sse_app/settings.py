"""Settings for the SSE buffering test: the real settings plus one test-only streaming view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.sse_app.urls"
