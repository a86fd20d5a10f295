"""System prompts and one-shot task prompts."""

from __future__ import annotations

from ai.guardrails import resolve_dialect

_DIALECT_NAMES = {
    "postgres": "PostgreSQL",
    "mysql": "MySQL/MariaDB",
    "tsql": "Microsoft SQL Server (T-SQL)",
    "clickhouse": "ClickHouse",
    "sqlite": "SQLite",
}


def dialect_name(dialect: str) -> str:
    return _DIALECT_NAMES.get(resolve_dialect(dialect) or "", dialect or "SQL")


def _schema_block(schema_text: str, truncated: bool) -> str:
    if not schema_text:
        return "No schema was provided; use the tools to look at the database."
    note = (
        "\nOnly the tables most relevant to the conversation are shown; use list_tables and "
        "describe_table for others."
        if truncated
        else ""
    )
    return f"Schema:\n```\n{schema_text}\n```{note}"


def chat_system(
    *,
    dialect: str,
    schema_text: str,
    schema_truncated: bool,
    editor_sql: str,
    has_connection: bool,
) -> str:
    parts = [
        "You are the SQL assistant of a database workbench. You help the user understand their "
        f"database and write, fix, explain and optimize {dialect_name(dialect)} SQL.",
        "Answer concisely in Markdown. Put SQL in ```sql fences. Never invent tables or "
        "columns: check the schema, or use the tools.",
    ]
    if has_connection:
        parts.append(
            "Tools run on the user's machine against the connected database. "
            "run_readonly_query runs one read-only statement and returns its first rows; a "
            "statement that changes anything waits for the user's approval, so prefer showing "
            "such SQL in your answer instead of running it."
        )
    else:
        parts.append("No database is connected: the tools may not be able to answer.")
    parts.append(_schema_block(schema_text, schema_truncated))
    if editor_sql.strip():
        parts.append(f"The SQL in the user's editor:\n```sql\n{editor_sql.strip()[:20_000]}\n```")
    return "\n\n".join(parts)


_JSON_SQL = 'Reply with JSON only: {"sql": "<one statement>", "explanation": "<short>"}.'


def generate_sql(*, dialect: str, schema_text: str, truncated: bool) -> str:
    return "\n\n".join(
        [
            f"You write {dialect_name(dialect)} SQL for a database workbench. Write one "
            "statement that answers the user's question, using only tables and columns from "
            "the schema. Prefer read-only queries unless the user asks for a change.",
            _schema_block(schema_text, truncated),
            _JSON_SQL,
        ]
    )


def fix_sql(*, dialect: str, schema_text: str, truncated: bool) -> str:
    return "\n\n".join(
        [
            f"You fix {dialect_name(dialect)} SQL. The user gives a statement and the error the "
            "database returned. Return the corrected statement, changing no more than needed, "
            "and say in one or two sentences what was wrong.",
            _schema_block(schema_text, truncated),
            _JSON_SQL,
        ]
    )


def optimize_sql(*, dialect: str, schema_text: str, truncated: bool) -> str:
    return "\n\n".join(
        [
            f"You optimize {dialect_name(dialect)} SQL. Return an equivalent statement (same "
            "rows, same order where it is specified) that should run faster, and explain the "
            "change; suggest indexes in the explanation, never in the SQL.",
            _schema_block(schema_text, truncated),
            _JSON_SQL,
        ]
    )


def explain_sql(*, dialect: str, schema_text: str, truncated: bool) -> str:
    return "\n\n".join(
        [
            f"You explain {dialect_name(dialect)} SQL to a developer: what the statement does, "
            "step by step, what it returns or changes, and anything surprising or risky.",
            _schema_block(schema_text, truncated),
            'Reply with JSON only: {"explanation": "<Markdown>"}.',
        ]
    )


def enhance_prompt(*, dialect: str, schema_text: str, truncated: bool) -> str:
    return "\n\n".join(
        [
            "You rewrite a user's request to a SQL assistant so it is precise: name the tables "
            "and columns it is about, the filters, grouping, ordering and limits it implies, "
            "keeping the user's intent and language. Do not answer it.",
            _schema_block(schema_text, truncated),
            'Reply with JSON only: {"prompt": "<the rewritten request>"}.',
        ]
    )


def chat_title() -> str:
    return (
        "Write a title of at most six words for the conversation below, in the language of the "
        'user. Reply with JSON only: {"title": "<title>"}.'
    )
