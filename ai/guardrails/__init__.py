"""SQL guardrail for the AI assistant: decides, without touching a database, whether a SQL text is
a single read-only statement that may run without asking the user, and caps its rows.

    verdict = classify("SELECT * FROM users", "postgres", max_rows=500)
    verdict.allowed_readonly  # True
    verdict.limited_sql       # 'SELECT * FROM users LIMIT 500'

Static analysis cannot see inside user-defined functions, views or triggers: read-only verdicts
are meant to run in a read-only transaction on the client as well. See docs/ai-guardrails.md.
"""

from ai.guardrails.core import (
    MAX_SQL_CHARS,
    GuardrailError,
    Verdict,
    apply_row_limit,
    classify,
    resolve_dialect,
)
from ai.guardrails.rules import ENGINE_DIALECTS, Kind

__all__ = [
    "ENGINE_DIALECTS",
    "MAX_SQL_CHARS",
    "GuardrailError",
    "Kind",
    "Verdict",
    "apply_row_limit",
    "classify",
    "resolve_dialect",
]
