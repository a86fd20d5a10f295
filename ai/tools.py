"""The assistant's tools. They are declared to the model but run on the client: only the desktop
and web apps can reach the user's database. A generation that calls them ends with finish
reason `tool-calls`; the client runs them and sends the results in its next request.

SQL the model wants to run (`run_readonly_query`) passes the guardrail first. A read-only
statement reaches the client with its row cap applied; anything else (or everything, when the
workspace asks for approval of all AI SQL) carries an approval token instead, announced with a
`tool-approval-request` chunk to clients that know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai.providers import ToolSpec

LIST_TABLES = "list_tables"
DESCRIBE_TABLE = "describe_table"
LIST_ENUMS = "list_enums"
RUN_READONLY_QUERY = "run_readonly_query"

TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        LIST_TABLES,
        "List the tables and views of the connected database, optionally filtered by a "
        "case-insensitive substring of their name, with their schema and row estimate.",
        {
            "type": "object",
            "properties": {
                "filter": {"type": "string", "description": "Substring of the table name."},
                "schema": {"type": "string", "description": "Only tables of this schema."},
            },
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        DESCRIBE_TABLE,
        "Describe one table: its columns with types, nullability and defaults, its primary "
        "key, foreign keys and indexes.",
        {
            "type": "object",
            "properties": {
                "table": {"type": "string", "description": "Table name, schema-qualified or not."}
            },
            "required": ["table"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        LIST_ENUMS,
        "List the enumerated types of the database and their values.",
        {
            "type": "object",
            "properties": {"schema": {"type": "string"}},
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        RUN_READONLY_QUERY,
        "Run one read-only SQL query on the connected database and return its first rows. "
        "Only a single SELECT (or another statement that only reads) runs without asking the "
        "user; anything else waits for the user's approval.",
        {
            "type": "object",
            "properties": {"sql": {"type": "string", "description": "One SQL statement."}},
            "required": ["sql"],
            "additionalProperties": False,
        },
    ),
)

TOOL_NAMES = frozenset(spec.name for spec in TOOL_SPECS)
_PROPERTIES = {spec.name: frozenset(spec.input_schema["properties"]) for spec in TOOL_SPECS}


def model_input(tool_name: str, tool_input: Any) -> dict[str, Any]:
    """A tool call's input as the model wrote it: what the service added for the client
    (guardrail verdict, approval) is not sent back to the model."""
    if not isinstance(tool_input, dict):
        return {}
    allowed = _PROPERTIES.get(tool_name)
    if allowed is None:
        return dict(tool_input)
    return {key: value for key, value in tool_input.items() if key in allowed}


@dataclass(frozen=True)
class QueryDecision:
    """What becomes of a run_readonly_query call."""

    tool_input: dict[str, Any]  # what the client receives as the tool's input
    approval_id: str | None  # set when the user must approve first


def decide_query(
    sql: Any,
    *,
    dialect: str,
    max_rows: int,
    approve_all: bool,
    make_approval: Any,
) -> QueryDecision:
    """Guardrail a query the model wants to run.

    `make_approval(sql_to_run, verdict)` creates an approval token (ai.services.approvals) and
    returns (token, expires_at ISO string)."""
    from ai.guardrails import classify

    text = sql if isinstance(sql, str) else ""
    verdict = classify(text, dialect, max_rows=max_rows)
    summary = {
        "kind": verdict.kind,
        "allowed_readonly": verdict.allowed_readonly,
        "reasons": list(verdict.reasons),
    }
    if verdict.allowed_readonly and verdict.limited_sql:
        to_run = verdict.limited_sql
    elif verdict.allowed_readonly and verdict.normalized_sql:
        to_run = verdict.normalized_sql
    else:
        to_run = text
    tool_input: dict[str, Any] = {"sql": to_run, "guardrail": summary}
    if verdict.allowed_readonly and not approve_all:
        return QueryDecision(tool_input, None)
    token, expires_at = make_approval(to_run, verdict)
    tool_input["approval"] = {"token": token, "expires_at": expires_at}
    return QueryDecision(tool_input, token)
