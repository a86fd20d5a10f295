"""Lets `scripts/pytest bench/ai_*_bench.py` run an AI benchmark with the test suite's set-up: a
database cloned from the migrated template, the application role under row-level security, the
owner's flush after transactional tests, and the run's Redis keys removed at the end. The suite
itself (testpaths = tests) never loads this file."""

from tests.conftest import (  # noqa: F401 - pytest finds fixtures and hooks by name here
    django_db_setup,
    pytest_configure,
    pytest_sessionfinish,
)
