"""Public entry points: classify() and apply_row_limit()."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ai.guardrails import lexer
from ai.guardrails.analysis import RANK, Statement, analyse_statement, render
from ai.guardrails.limits import effective_limit, limit_query
from ai.guardrails.rules import ENGINE_DIALECTS, Kind
from core.logging import exception_origin

logger = logging.getLogger(__name__)

# Far beyond hand-written or AI-written queries; bounds the work on hostile input (sqlglot is pure
# Python: about 1-2 s at this size). Longer texts are not refused, only sent for approval.
MAX_SQL_CHARS = 100_000


class GuardrailError(ValueError):
    """apply_row_limit() was given something it cannot limit safely."""


@dataclass(frozen=True)
class Verdict:
    """What the guardrail decided about a SQL text.

    allowed_readonly is true only when the text may run without asking the user: one statement,
    read-only, nothing ambiguous. normalized_sql is sqlglot's rendering of what was checked
    (comments dropped); limited_sql is the same with the row limit, filled only when
    allowed_readonly is true and classify() was given max_rows. Clients should run limited_sql
    (or normalized_sql), not the original text.
    """

    kind: Kind
    allowed_readonly: bool
    reasons: list[str] = field(default_factory=list)
    statement_count: int = 0
    normalized_sql: str | None = None
    limited_sql: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "allowed_readonly": self.allowed_readonly,
            "reasons": list(self.reasons),
            "statement_count": self.statement_count,
            "normalized_sql": self.normalized_sql,
            "limited_sql": self.limited_sql,
        }


def resolve_dialect(engine: str) -> str | None:
    """The sqlglot dialect for an engine name (postgres, mysql, mariadb, mssql, ...), or None."""
    return ENGINE_DIALECTS.get(engine.strip().lower()) if isinstance(engine, str) else None


def classify(sql: str, dialect: str, max_rows: int | None = None) -> Verdict:
    """Classifies `sql` for the engine `dialect`. Never raises: on any doubt or internal error the
    verdict is "unknown" and not allowed. With `max_rows`, an allowed query also gets
    limited_sql, capped at that many rows."""
    try:
        return _classify(sql, dialect, max_rows)
    except Exception as error:
        # Not the message or traceback text: sqlglot's errors quote the SQL (and its secrets).
        logger.error(
            "SQL guardrail failed (%s); treating the statement as unknown",
            exception_origin(error),
        )
        return Verdict(
            kind="unknown",
            allowed_readonly=False,
            reasons=["The guardrail could not check this statement."],
        )


def apply_row_limit(sql: str, dialect: str, max_rows: int) -> str:
    """Returns `sql` (one read-only statement) rewritten to return at most `max_rows` rows: LIMIT
    (PostgreSQL, MySQL, SQLite, ClickHouse) or TOP / FETCH NEXT (SQL Server). An existing smaller
    limit is kept. Statements that return a bounded result by nature (SHOW, EXPLAIN, DESCRIBE,
    PRAGMA, VALUES) come back normalized but unchanged.

    Raises GuardrailError if `sql` is not a single read-only statement or cannot be limited."""
    _check_max_rows(max_rows)
    engine = _dialect_or_raise(dialect)
    if not isinstance(sql, str) or len(sql) > MAX_SQL_CHARS:
        raise GuardrailError("only a single read-only statement can be limited")
    return _limited_sql(_approved(sql, engine), engine, max_rows)


def _classify(sql: str, dialect: str, max_rows: int | None) -> Verdict:
    engine = resolve_dialect(dialect)
    if engine is None:
        return _unknown(f"Unsupported database engine: {dialect!r}.")
    if not isinstance(sql, str):
        return _unknown("The statement is not text.")
    if len(sql) > MAX_SQL_CHARS:
        return _unknown(f"The statement is longer than {MAX_SQL_CHARS} characters.")
    if max_rows is not None and not _valid_max_rows(max_rows):
        return _unknown("max_rows must be a positive integer.")

    statements, problems, count = _analyse(sql, engine)
    lexical_reasons = [f"The text contains {problem}." for problem in problems]
    if count == 0:
        return _unknown("There is no statement to run.", *lexical_reasons)

    kind: Kind = "read_only"
    reasons: list[str] = []
    for number, statement in enumerate(statements, start=1):
        if RANK[statement.kind] > RANK[kind]:
            kind = statement.kind
        prefix = f"Statement {number}: " if count > 1 else ""
        reasons += [prefix + reason for reason in statement.reasons]
    reasons += lexical_reasons
    if problems and kind == "read_only":
        kind = "unknown"
    if count > 1:
        reasons.insert(0, f"{count} statements: only a single statement can run unasked.")
        if kind == "read_only":
            kind = "unknown"

    normalized = None
    if all(s.normalized is not None for s in statements):
        normalized = ";\n".join(s.normalized for s in statements if s.normalized is not None)

    allowed = kind == "read_only"
    limited = None
    if allowed:
        try:
            _approved(sql, engine, statements=statements, problems=problems)
            if max_rows is not None:
                limited = _limited_sql(statements[0], engine, max_rows)
        except Exception as error:
            logger.info("SQL guardrail refused its own rewrite (%s)", exception_origin(error))
            allowed = False
            reasons.append("The checked statement could not be rewritten safely.")

    return Verdict(
        kind=kind,
        allowed_readonly=allowed,
        reasons=list(dict.fromkeys(reasons)),
        statement_count=count,
        normalized_sql=normalized,
        limited_sql=limited,
    )


def _analyse(sql: str, engine: str) -> tuple[list[Statement], list[str], int]:
    try:
        lexed = lexer.lex(sql, engine)
    except Exception:
        statement = Statement(
            kind="unknown",
            reasons=["The statement could not be tokenized (unterminated string or comment?)."],
        )
        return [statement], [], 1 if sql.strip() else 0
    statements = [analyse_statement(sql, tokens, engine) for tokens in lexed.statements]
    return statements, lexed.problems, len(lexed.statements)


def _approved(
    sql: str,
    engine: str,
    *,
    statements: list[Statement] | None = None,
    problems: list[str] | None = None,
) -> Statement:
    """The single read-only statement in `sql`, whose rendering (what clients run) is itself a
    single read-only statement. Raises GuardrailError otherwise."""
    if statements is None or problems is None:
        statements, problems, _ = _analyse(sql, engine)
    if problems or len(statements) != 1 or statements[0].kind != "read_only":
        raise GuardrailError("only a single read-only statement can run unasked")
    statement = statements[0]
    if statement.node is None or statement.normalized is None:
        raise GuardrailError("the statement was not parsed")
    rendered, rendered_problems, _ = _analyse(statement.normalized, engine)
    if rendered_problems or len(rendered) != 1 or rendered[0].kind != "read_only":
        raise GuardrailError("the normalized statement is no longer read-only")
    return statement


def _limited_sql(statement: Statement, engine: str, max_rows: int) -> str:
    if statement.node is None or statement.normalized is None:
        raise GuardrailError("the statement was not parsed")
    if not statement.limitable:
        return statement.normalized  # bounded by nature: SHOW, EXPLAIN, PRAGMA, VALUES
    limited = render(limit_query(statement.node, engine, max_rows), engine)
    # Check the rewrite as if it came from outside: still one read-only query, and capped.
    node = _approved(limited, engine).node
    cap = effective_limit(node, engine) if node is not None else None
    if cap is None or cap > max_rows:
        raise GuardrailError("the limited statement has no row limit")
    return limited


def _unknown(*reasons: str) -> Verdict:
    return Verdict(kind="unknown", allowed_readonly=False, reasons=list(reasons))


def _valid_max_rows(max_rows: object) -> bool:
    return isinstance(max_rows, int) and not isinstance(max_rows, bool) and max_rows >= 1


def _check_max_rows(max_rows: int) -> None:
    if not _valid_max_rows(max_rows):
        raise GuardrailError("max_rows must be a positive integer")


def _dialect_or_raise(dialect: str) -> str:
    engine = resolve_dialect(dialect)
    if engine is None:
        raise GuardrailError(f"unsupported database engine: {dialect!r}")
    return engine
