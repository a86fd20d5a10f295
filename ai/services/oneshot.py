"""One-shot SQL help (generate, fix, explain, optimize) and prompt enhancement: one provider
call each, answered as JSON. Every SQL answer carries the guardrail's verdict on it.

These run in the web request rather than through Celery: the caller waits for one short answer
either way, and a broker round trip would only add to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from ai import prompts
from ai.guardrails import classify
from ai.providers import ChatRequest, Message, ProviderError, complete
from ai.schema import SchemaContext, select_schema
from ai.services import usage

TASKS = ("generate", "fix", "explain", "optimize", "enhance")

_SYSTEM: dict[str, Callable[..., str]] = {
    "generate": prompts.generate_sql,
    "fix": prompts.fix_sql,
    "explain": prompts.explain_sql,
    "optimize": prompts.optimize_sql,
    "enhance": prompts.enhance_prompt,
}


def _user_message(task: str, data: dict[str, Any]) -> str:
    if task == "generate":
        return f"Question: {data['question']}"
    if task == "fix":
        return f"SQL:\n```sql\n{data['sql']}\n```\n\nError:\n{data['error']}"
    if task == "enhance":
        return f"Request: {data['prompt']}"
    return f"SQL:\n```sql\n{data['sql']}\n```"


def _schema(task: str, data: dict[str, Any]) -> SchemaContext:
    texts = [data.get(key) or "" for key in ("question", "sql", "error", "prompt")]
    return select_schema(
        data.get("schema"),
        texts,
        budget_tokens=int(settings.AI_SCHEMA_TOKEN_BUDGET),
        sample_values=data.get("sample_values") if task == "generate" else None,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def ai_task_run(*, workspace: Any, user: Any, task: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run one one-shot task for a member (quota and rate checked first; usage recorded)."""
    usage.ai_request_admit(workspace=workspace, user=user)
    dialect = data.get("dialect") or "postgres"
    schema = _schema(task, data)
    request = ChatRequest(
        messages=[Message.user(_user_message(task, data))],
        system=_SYSTEM[task](dialect=dialect, schema_text=schema.text, truncated=schema.truncated),
        task="sql",
        max_output_tokens=2048,
        json_output=True,
    )
    result = complete(request)  # a ProviderError is the answer (its status and message)
    usage.usage_record(
        workspace_id=workspace.pk,
        user_id=user.pk,
        model=result.model,
        input_tokens=result.usage.input_tokens if result.usage else 0,
        output_tokens=result.usage.output_tokens if result.usage else 0,
    )
    parsed = result.json()
    if not isinstance(parsed, dict):
        raise ProviderError.bad_response(provider=result.provider)
    answer: dict[str, Any] = {
        "model": result.model,
        "usage": {
            "input_tokens": result.usage.input_tokens if result.usage else 0,
            "output_tokens": result.usage.output_tokens if result.usage else 0,
        },
        "schema": schema.summary() if schema.tables_total else None,
    }
    if task == "enhance":
        prompt = _text(parsed.get("prompt"))
        if not prompt:
            raise ProviderError.bad_response(provider=result.provider)
        answer["prompt"] = prompt
        return answer
    answer["explanation"] = _text(parsed.get("explanation"))
    if task == "explain":
        if not answer["explanation"]:
            raise ProviderError.bad_response(provider=result.provider)
        answer["sql"] = data["sql"]
    else:
        sql = _text(parsed.get("sql"))
        if not sql:
            raise ProviderError.bad_response(provider=result.provider)
        answer["sql"] = sql
    answer["guardrail"] = classify(answer["sql"], dialect, max_rows=data.get("max_rows")).to_dict()
    return answer
