"""The assistant never carries a connection's secrets (docs/permissions.md, "Secrets by role":
the assistant's prompts and context are a channel no secret takes). A chat about a connection
whose every secret field holds a canary, on the real stack (gunicorn + uvicorn, a Celery
worker, the real provider SDKs against the fake LLM server): no request to a provider and no
chunk of the answer contains one."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from connections.models import SECRET_FIELDS
from tests.ai.conftest import Live
from tests.ai.test_chat_stream import send, user_message, wait_for
from tests.connections.helpers import canary
from tests.fakes.llm_server import FakeLLMServer, text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_no_secret_reaches_a_provider_or_the_answer(live: Live, llm: FakeLLMServer) -> None:
    secrets = {name: canary(name) for name in SECRET_FIELDS}
    created = httpx.post(
        live.ws_url("connections/"),
        json={"name": "prod", "engine": "postgres", "host": "db.internal", **secrets},
        headers=live.headers("owner"),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    llm.enqueue(text("Try SELECT 1;", path="/messages"))
    chat_id = uuid.uuid4()
    result = send(
        live,
        chat_id,
        [user_message("What can you tell me about this database?")],
        context={"connection_id": created.json()["id"]},
    )
    assert result.status == 200, result.body
    assert result.text() == "Try SELECT 1;"
    wait_for(lambda: any(r.path.endswith("/messages") for r in llm.requests))
    sent = "\n".join(
        r.body if isinstance(r.body, str) else json.dumps(r.body) for r in llm.requests
    )
    assert "postgres" in sent.lower()  # the dialect travelled: the context was read
    assert [name for name, value in secrets.items() if value in sent] == []
    answer = "\n".join(result.raw) + result.body
    assert [name for name, value in secrets.items() if value in answer] == []
