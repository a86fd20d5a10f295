"""ai/guardrails: classification of SQL for the AI assistant, and row limits."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from ai.guardrails import (
    ENGINE_DIALECTS,
    MAX_SQL_CHARS,
    GuardrailError,
    Verdict,
    apply_row_limit,
    classify,
    resolve_dialect,
)
from ai.guardrails.rules import SIDE_EFFECT_FUNCTION_PREFIXES, SIDE_EFFECT_FUNCTIONS
from tests.ai.guardrail_corpus import CORPUS

ENGINES = ["postgres", "mysql", "mariadb", "mssql", "tsql", "clickhouse", "sqlite"]
KINDS = {"read_only", "write", "ddl", "unknown"}


# --- the corpus -------------------------------------------------------------------------------


def test_corpus_is_large_and_covers_every_engine() -> None:
    assert len(CORPUS) >= 150
    engines = {engine for engine, _, _, _ in CORPUS}
    assert {"postgres", "mysql", "mariadb", "mssql", "clickhouse", "sqlite"} <= engines
    assert len({(engine, sql) for engine, sql, _, _ in CORPUS}) == len(CORPUS), "duplicates"
    for _, _, kind, allowed in CORPUS:
        assert kind in KINDS
        assert not allowed or kind == "read_only"


@pytest.mark.parametrize(
    ("engine", "sql", "kind", "allowed"),
    CORPUS,
    ids=[f"{i}-{engine}" for i, (engine, _, _, _) in enumerate(CORPUS)],
)
def test_corpus(engine: str, sql: str, kind: str, allowed: bool) -> None:
    verdict = classify(sql, engine, max_rows=100)

    assert (verdict.kind, verdict.allowed_readonly) == (kind, allowed), verdict.reasons
    if allowed:
        assert verdict.statement_count == 1
        assert verdict.reasons == []
        assert verdict.normalized_sql is not None
        assert verdict.limited_sql is not None
        # What the client runs is checked again on its own and is still allowed.
        again = classify(verdict.limited_sql, engine)
        assert again.allowed_readonly, (verdict.limited_sql, again.reasons)
    else:
        assert verdict.reasons, "a refusal must say why"
        assert all(isinstance(r, str) and r.endswith(".") for r in verdict.reasons)
        assert verdict.limited_sql is None


# --- the verdict ------------------------------------------------------------------------------


def test_verdict_is_frozen_and_serializes_to_json() -> None:
    verdict = classify("SELECT * FROM users", "postgres", max_rows=50)

    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.kind = "write"  # type: ignore[misc]
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data == {
        "kind": "read_only",
        "allowed_readonly": True,
        "reasons": [],
        "statement_count": 1,
        "normalized_sql": "SELECT * FROM users",
        "limited_sql": "SELECT * FROM users LIMIT 50",
    }


def test_to_dict_of_a_refusal_carries_the_reasons() -> None:
    data = classify("SELECT 1; DELETE FROM t", "postgres").to_dict()

    assert data["kind"] == "write"
    assert data["allowed_readonly"] is False
    assert data["statement_count"] == 2
    assert any("2 statements" in reason for reason in data["reasons"])
    assert any("DELETE" in reason for reason in data["reasons"])


def test_limited_sql_only_with_max_rows() -> None:
    assert classify("SELECT 1", "postgres").limited_sql is None
    assert classify("SELECT 1", "postgres", max_rows=5).limited_sql == "SELECT 1 LIMIT 5"


def test_normalized_sql_drops_comments() -> None:
    verdict = classify("SELECT /* secret */ a -- note\nFROM t", "postgres")

    assert verdict.allowed_readonly
    assert verdict.normalized_sql == "SELECT a FROM t"


def test_normalized_sql_keeps_case_of_quoted_function_names() -> None:
    verdict = classify('SELECT "myFunc"(1) FROM t', "postgres")

    assert verdict.normalized_sql == 'SELECT "myFunc"(1) FROM t'


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_name_is_accepted(engine: str) -> None:
    assert resolve_dialect(engine) == ENGINE_DIALECTS[engine]
    assert classify("SELECT 1", engine).allowed_readonly
    assert classify("DELETE FROM t", engine).kind == "write"


def test_engine_names_are_case_insensitive() -> None:
    assert resolve_dialect(" PostgreS ") == "postgres"
    assert resolve_dialect("MariaDB") == "mysql"
    assert resolve_dialect("MSSQL") == "tsql"


def test_unknown_engine_is_unknown_not_an_error() -> None:
    verdict = classify("SELECT 1", "oracle")

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly
    assert "oracle" in verdict.reasons[0]


@pytest.mark.parametrize("max_rows", [0, -1, True, 2.5, "10"])
def test_invalid_max_rows_is_refused_not_raised(max_rows: object) -> None:
    verdict = classify("SELECT 1", "postgres", max_rows=max_rows)  # type: ignore[arg-type]

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly


# --- functions with side effects ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(SIDE_EFFECT_FUNCTIONS) + [prefix + "x" for prefix in SIDE_EFFECT_FUNCTION_PREFIXES],
)
def test_every_listed_function_is_refused_in_every_dialect(name: str) -> None:
    parsed_in = set()
    for engine in ("postgres", "mysql", "mssql", "clickhouse", "sqlite"):
        for sql in (f"SELECT {name}(1)", f"SELECT * FROM t WHERE a = (SELECT {name.upper()}(1))"):
            verdict = classify(sql, engine)
            assert not verdict.allowed_readonly, (engine, sql)
            # Some names are keywords in some grammars (FILE in PostgreSQL) and do not parse
            # there at all; wherever the statement parses, the refusal names the function.
            if verdict.kind != "unknown":
                assert verdict.kind == "write", (engine, sql)
                assert any(name in reason for reason in verdict.reasons), verdict.reasons
                parsed_in.add(engine)
    assert parsed_in


# --- SQL Server runs statements that follow each other without a semicolon --------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SHUTDOWN",
        "SHUTDOWN WITH NOWAIT",
        "CHECKPOINT",
        "RECONFIGURE",
        "COMMIT",
        "ROLLBACK",
        "REVERT",
        "DELETE t",
        "DELETE FROM t",
        "UPDATE t SET a = 1",
        "INSERT t VALUES (1)",
        "TRUNCATE TABLE t",
        "DROP TABLE t",
        "EXEC sp_who",
        "KILL 1",
        "WAITFOR DELAY '0:0:1'",
        "DECLARE @x INT",
        "SET NOCOUNT ON",
        "USE master",
        "GRANT SELECT ON t TO u",
        "DBCC FREEPROCCACHE",
        "BACKUP LOG x TO DISK = 'y'",
        "IF 1 = 1 DELETE FROM t",
    ],
)
@pytest.mark.parametrize("query", ["SELECT 1", "SELECT a FROM t", "SELECT a FROM t ORDER BY a"])
def test_tsql_statement_after_a_query_without_semicolon_is_refused(
    query: str, statement: str
) -> None:
    verdict = classify(f"{query} {statement}", "mssql")

    assert not verdict.allowed_readonly
    assert verdict.kind != "read_only"


# --- fail closed ------------------------------------------------------------------------------


def test_internal_error_gives_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ai.guardrails.core.analyse_statement", explode)

    verdict = classify("SELECT 1", "postgres", max_rows=10)

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly
    assert verdict.reasons


def test_a_failed_rewrite_withdraws_the_approval(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_limit(node: exp.Expr, dialect: str, max_rows: int) -> exp.Expr:
        return node  # a broken rewrite that forgets the limit

    monkeypatch.setattr("ai.guardrails.core.limit_query", no_limit)

    verdict = classify("SELECT * FROM t", "postgres", max_rows=10)

    assert verdict.kind == "read_only"
    assert not verdict.allowed_readonly
    assert verdict.limited_sql is None


def test_oversized_text_is_unknown() -> None:
    verdict = classify("SELECT 1 " + " " * MAX_SQL_CHARS, "postgres")

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly


def test_deep_nesting_is_unknown_not_a_crash() -> None:
    verdict = classify("SELECT " + "(" * 5000 + "1" + ")" * 5000, "postgres")

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly


@pytest.mark.parametrize("sql", [None, b"SELECT 1", 42])
def test_non_text_is_unknown(sql: object) -> None:
    verdict = classify(sql, "postgres")  # type: ignore[arg-type]

    assert verdict.kind == "unknown"
    assert not verdict.allowed_readonly


@settings(max_examples=400, deadline=None, database=None)
@given(sql=st.text(), engine=st.sampled_from(ENGINES))
def test_classify_never_raises_on_any_text(sql: str, engine: str) -> None:
    verdict = classify(sql, engine, max_rows=10)

    assert isinstance(verdict, Verdict)
    assert verdict.kind in KINDS
    assert not verdict.allowed_readonly or verdict.kind == "read_only"
    assert verdict.limited_sql is None or verdict.allowed_readonly


_SQL_PIECES = [
    "SELECT", "select", "*", "a", "t", "FROM", "WHERE", "=", "1", "'x'", "(", ")", ",", ";",
    "DELETE", "INSERT", "INTO", "UPDATE", "SET", "WITH", "AS", "UNION", "ALL", "LIMIT", "TOP",
    "ORDER", "BY", "FOR", "EXPLAIN", "ANALYZE", "pg_sleep(1)", "SLEEP(1)", "--", "/*", "*/",
    "\n", "$$", '"', "`", "[", "]", "#", "EXEC", "PRAGMA", "VALUES", "OFFSET", "FETCH", "NEXT",
    "ROWS", "ONLY", "GO", "SHUTDOWN", "/*!", "\\'",
]  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(
    pieces=st.lists(st.sampled_from(_SQL_PIECES), max_size=25),
    engine=st.sampled_from(ENGINES),
)
def test_sql_like_soup_never_raises_and_approvals_hold(pieces: list[str], engine: str) -> None:
    sql = " ".join(pieces)

    verdict = classify(sql, engine, max_rows=10)

    assert verdict.kind in KINDS
    if verdict.allowed_readonly:
        assert verdict.limited_sql is not None
        assert classify(verdict.limited_sql, engine).allowed_readonly
        try:
            assert apply_row_limit(sql, engine, 10) == verdict.limited_sql
        except GuardrailError:
            pytest.fail("an allowed statement must be limitable")
    else:
        with pytest.raises(GuardrailError):
            apply_row_limit(sql, engine, 10)


# --- row limits -------------------------------------------------------------------------------


def _outer_limit(sql: str, dialect: str) -> int | None:
    """The row cap of the outermost query, read back with sqlglot on its own."""
    node = sqlglot.parse_one(sql, read=dialect)
    limit = node.args.get("limit")
    if isinstance(limit, exp.Limit):
        assert not limit.expressions, "LIMIT BY is not a row cap"
        return int(limit.expression.name)
    if isinstance(limit, exp.Fetch):
        return int(limit.args["count"].name)
    return None


# One case per line, however long, so the table reads as a table.
# fmt: off
LIMIT_CASES = [
    # PostgreSQL
    ("postgres", "SELECT * FROM t", 100, "SELECT * FROM t LIMIT 100", 100),
    ("postgres", "SELECT * FROM t LIMIT 5000", 100, "SELECT * FROM t LIMIT 100", 100),
    ("postgres", "SELECT * FROM t LIMIT 10", 100, "SELECT * FROM t LIMIT 10", 10),
    ("postgres", "SELECT * FROM t LIMIT ALL", 100, "SELECT * FROM t LIMIT 100", 100),
    ("postgres", "SELECT * FROM t LIMIT 500 OFFSET 20", 100, "SELECT * FROM t LIMIT 100 OFFSET 20", 100),  # noqa: E501
    ("postgres", "SELECT * FROM t ORDER BY a OFFSET 20", 100, "SELECT * FROM t ORDER BY a LIMIT 100 OFFSET 20", 100),  # noqa: E501
    ("postgres", "SELECT * FROM t FETCH FIRST 500 ROWS ONLY", 100, "SELECT * FROM t FETCH FIRST 100 ROWS ONLY", 100),  # noqa: E501
    ("postgres", "SELECT * FROM t FETCH FIRST 5 ROWS ONLY", 100, "SELECT * FROM t FETCH FIRST 5 ROWS ONLY", 5),  # noqa: E501
    ("postgres", "SELECT a FROM t UNION SELECT a FROM u", 100, "SELECT a FROM t UNION SELECT a FROM u LIMIT 100", 100),  # noqa: E501
    ("postgres", "SELECT a FROM t UNION SELECT a FROM u LIMIT 7", 100, "SELECT a FROM t UNION SELECT a FROM u LIMIT 7", 7),  # noqa: E501
    ("postgres", "WITH x AS (SELECT * FROM t LIMIT 5000) SELECT * FROM x", 100, "WITH x AS (SELECT * FROM t LIMIT 5000) SELECT * FROM x LIMIT 100", 100),  # noqa: E501
    ("postgres", "SELECT * FROM t LIMIT $1", 100, "SELECT * FROM (SELECT * FROM t LIMIT $1) AS _limited LIMIT 100", 100),  # noqa: E501
    ("postgres", "SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES", 100, "SELECT * FROM (SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES) AS _limited LIMIT 100", 100),  # noqa: E501
    ("postgres", "(SELECT * FROM t)", 100, "SELECT * FROM t LIMIT 100", 100),
    ("postgres", "TABLE t", 100, "SELECT * FROM t LIMIT 100", 100),
    # MySQL / MariaDB
    ("mysql", "SELECT * FROM t", 100, "SELECT * FROM t LIMIT 100", 100),
    ("mysql", "SELECT * FROM t LIMIT 5, 1000", 100, "SELECT * FROM t LIMIT 100 OFFSET 5", 100),
    ("mariadb", "SELECT * FROM t LIMIT 3", 100, "SELECT * FROM t LIMIT 3", 3),
    # SQLite
    ("sqlite", "SELECT * FROM t", 100, "SELECT * FROM t LIMIT 100", 100),
    ("sqlite", "SELECT * FROM t LIMIT -1", 100, "SELECT * FROM t LIMIT 100", 100),
    # ClickHouse: a trailing LIMIT binds to the last SELECT of a UNION, so the union is wrapped
    ("clickhouse", "SELECT * FROM t", 100, "SELECT * FROM t LIMIT 100", 100),
    ("clickhouse", "SELECT 1 UNION ALL SELECT 2", 100, "SELECT * FROM (SELECT 1 UNION ALL SELECT 2) AS _limited LIMIT 100", 100),  # noqa: E501
    ("clickhouse", "SELECT * FROM t LIMIT 5 BY a", 100, "SELECT * FROM (SELECT * FROM t LIMIT 5 BY a) AS _limited LIMIT 100", 100),  # noqa: E501
    # SQL Server: TOP, or FETCH NEXT when the query already has OFFSET
    ("mssql", "SELECT * FROM t", 100, "SELECT TOP 100 * FROM t", 100),
    ("mssql", "SELECT TOP 5000 * FROM t ORDER BY a", 100, "SELECT TOP 100 * FROM t ORDER BY a", 100),  # noqa: E501
    ("mssql", "SELECT TOP 5 * FROM t", 100, "SELECT TOP 5 * FROM t", 5),
    ("mssql", "SELECT DISTINCT a FROM t", 100, "SELECT DISTINCT TOP 100 a FROM t", 100),
    ("mssql", "SELECT * FROM t ORDER BY a OFFSET 5 ROWS", 100, "SELECT * FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 100 ROWS ONLY", 100),  # noqa: E501
    ("mssql", "SELECT * FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 500 ROWS ONLY", 100, "SELECT * FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 100 ROWS ONLY", 100),  # noqa: E501
    ("mssql", "SELECT * FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 8 ROWS ONLY", 100, "SELECT * FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 8 ROWS ONLY", 8),  # noqa: E501
    ("mssql", "SELECT a FROM t UNION SELECT a FROM u", 100, "SELECT TOP 100 * FROM (SELECT a FROM t UNION SELECT a FROM u) AS _limited", 100),  # noqa: E501
    ("mssql", "SELECT a FROM t UNION SELECT a FROM u ORDER BY a", 100, "SELECT a FROM t UNION SELECT a FROM u ORDER BY a OFFSET 0 ROWS FETCH NEXT 100 ROWS ONLY", 100),  # noqa: E501
    ("mssql", "WITH c AS (SELECT a FROM t) SELECT a FROM c", 100, "WITH c AS (SELECT a AS a FROM t) SELECT TOP 100 a FROM c", 100),  # noqa: E501
    ("mssql", "WITH c AS (SELECT a FROM t) SELECT TOP 10 PERCENT a FROM c ORDER BY a", 100, "WITH c AS (SELECT a AS a FROM t) SELECT TOP 100 * FROM (SELECT TOP 10 PERCENT a AS a FROM c ORDER BY a) AS _limited", 100),  # noqa: E501
    ("mssql", "SELECT TOP (@n) * FROM t", 100, "SELECT TOP 100 * FROM (SELECT TOP (@n) * FROM t) AS _limited", 100),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(("engine", "sql", "max_rows", "expected_sql", "expected_cap"), LIMIT_CASES)
def test_apply_row_limit(
    engine: str, sql: str, max_rows: int, expected_sql: str, expected_cap: int
) -> None:
    limited = apply_row_limit(sql, engine, max_rows)

    assert limited == expected_sql
    assert _outer_limit(limited, ENGINE_DIALECTS[engine]) == expected_cap
    assert classify(sql, engine, max_rows=max_rows).limited_sql == limited


@pytest.mark.parametrize(
    ("engine", "sql"),
    [
        ("postgres", "SHOW search_path"),
        ("postgres", "EXPLAIN SELECT * FROM t"),
        ("postgres", "VALUES (1), (2)"),
        ("mysql", "SHOW TABLES"),
        ("mysql", "DESCRIBE t"),
        ("sqlite", "PRAGMA table_info(t)"),
        ("clickhouse", "DESCRIBE TABLE t"),
    ],
)
def test_bounded_statements_are_not_rewritten(engine: str, sql: str) -> None:
    verdict = classify(sql, engine, max_rows=10)

    assert verdict.allowed_readonly
    assert verdict.limited_sql == verdict.normalized_sql
    assert apply_row_limit(sql, engine, 10) == verdict.normalized_sql


@pytest.mark.parametrize(
    ("engine", "sql", "max_rows"),
    [
        ("postgres", "DELETE FROM t", 10),
        ("postgres", "SELECT 1; SELECT 2", 10),
        ("postgres", "SELECT * FROM t FOR UPDATE", 10),
        ("postgres", "not sql", 10),
        ("oracle", "SELECT 1", 10),
        ("postgres", "SELECT 1", 0),
        ("postgres", "SELECT 1", -5),
    ],
)
def test_apply_row_limit_refuses_what_it_cannot_limit(engine: str, sql: str, max_rows: int) -> None:
    with pytest.raises(GuardrailError):
        apply_row_limit(sql, engine, max_rows)


@pytest.fixture
def sqlite_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"row {i}") for i in range(1000)])
    db.execute("CREATE TABLE u (a INTEGER)")
    db.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(500, 1500)])
    return db


@pytest.mark.parametrize(
    ("sql", "expected_rows"),
    [
        ("SELECT * FROM t", 25),
        ("SELECT * FROM t LIMIT 10", 10),
        ("SELECT * FROM t LIMIT 900", 25),
        ("SELECT * FROM t LIMIT -1", 25),
        ("SELECT * FROM t ORDER BY a DESC LIMIT 500 OFFSET 990", 10),
        ("SELECT a FROM t UNION SELECT a FROM u", 25),
        ("SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a LIMIT 100", 25),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", 25),
        ("SELECT * FROM (SELECT * FROM t) AS s WHERE a > 10", 25),
    ],
)
def test_limited_sql_caps_rows_on_a_real_sqlite_database(
    sqlite_db: sqlite3.Connection, sql: str, expected_rows: int
) -> None:
    limited = classify(sql, "sqlite", max_rows=25).limited_sql

    assert limited is not None
    # The unbounded recursive CTE would never finish without the injected limit.
    assert len(sqlite_db.execute(limited).fetchall()) == expected_rows
