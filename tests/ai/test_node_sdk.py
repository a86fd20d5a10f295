"""The real `ai` npm package consumes our streams (tests/node/ai-sdk.test.mjs): ai@7 for a plain
answer, a client-executed tool round trip, a resume and a stop; the strict parsers of ai@5.0.0
and ai@6.0.0 for the chunks they must (and must not) receive.

The server, the worker and the fake LLM server are the ones of the other end-to-end tests; the
replies are scripted here in the order the Node tests ask for them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chats.entity import ChatMessageEntity
from chats.models import ChatMessage
from core.tenancy import db_context
from tests.ai.conftest import Live
from tests.conftest import ROOT
from tests.fakes.llm_server import FakeLLMServer, text, tool_call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NODE_DIR = ROOT / "tests" / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js is required for the AI SDK compatibility test (tests/node): install "
            "Node.js 20 or later and run `npm ci` in tests/node (scripts/test does)."
        )
    if not (NODE_DIR / "node_modules" / "ai" / "package.json").exists():
        pytest.fail(
            "tests/node has no node_modules: run `npm ci` in tests/node (scripts/test does)."
        )
    return node


def test_the_ai_sdk_consumes_our_streams(live: Live, llm: FakeLLMServer, tmp_path: Path) -> None:
    node = _node()
    llm.enqueue(
        # ai@7: plain answer
        text("Hello from the SQL assistant.", path="/messages"),
        # ai@7: tool round trip
        tool_call("list_tables", {"filter": "user"}, path="/messages"),
        text("There are two tables: users and user_roles.", path="/messages"),
        # ai@7: resume (slow enough to reconnect in the middle)
        text([f"w{i}" if i == 0 else f" w{i}" for i in range(30)], delay=0.05, path="/messages"),
        # ai@7: stop
        text([f"n{i}" if i == 0 else f" n{i}" for i in range(100)], delay=0.05, path="/messages"),
        # ai@5.0.0: plain answer
        text("Hello again.", path="/messages"),
        # ai@6.0.0 and ai@5.0.0: a write the model wants to run
        tool_call("run_readonly_query", {"sql": "DELETE FROM sessions"}, path="/messages"),
        tool_call("run_readonly_query", {"sql": "DELETE FROM sessions"}, path="/messages"),
    )
    results_file = tmp_path / "results.json"
    proc = subprocess.run(
        [node, "--test", "--test-reporter=tap", "ai-sdk.test.mjs"],
        cwd=NODE_DIR,
        env={
            "PATH": str(Path(node).parent),
            "HOME": str(tmp_path),
            "DBW_API": live.ws_url("").rstrip("/"),
            "DBW_TOKEN": live.token("owner"),
            "DBW_RESULTS": str(results_file),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "# fail 0" in output, output
    assert "# pass 7" in output, output

    # What the SDK showed is what the service stored.
    results = json.loads(results_file.read_text())
    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        tool_reply = ChatMessage.objects.get(id=results["tool"]["messageId"])
        parts = ChatMessageEntity.read(tool_reply, "parts")
        assert [p["type"] for p in parts] == [
            "step-start",
            "tool-list_tables",
            "step-start",
            "text",
        ]
        assert parts[1]["output"] == [{"name": "users"}, {"name": "user_roles"}]
        stopped = ChatMessage.objects.get(id=results["stop"]["messageId"])
        assert stopped.finish_reason == "abort"
        stored_text = ChatMessageEntity.read(stopped, "parts")[-1]["text"]
        assert stored_text == results["stop"]["text"]
        resumed = ChatMessage.objects.get(id=results["resume"]["messageId"])
        assert resumed.finish_reason == "stop"
