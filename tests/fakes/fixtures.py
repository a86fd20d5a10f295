"""Pytest fixtures for the fakes; loaded for the whole suite by `pytest_plugins` in
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fake Anthropic/OpenAI server on 127.0.0.1 and a free port, for one test.

    `fake_llm.enqueue(text("Hi"), overloaded(), ...)` scripts the next replies;
    `fake_llm.requests` records what was asked; `fake_llm.settings()` gives override_settings
    keyword arguments that point the provider layer at it; `fake_llm.token_delay` paces streams.
    """
    with FakeLLMServer() as server:
        yield server
