"""Classification of one SQL text into statements, each with a kind and reasons.

A statement is read-only only when every one of these holds: its first word is a reading word
(SELECT, WITH, VALUES, TABLE, SHOW, a parenthesis, or EXPLAIN of such a statement), sqlglot parses
it into a reading node (a query, SHOW, DESCRIBE, a reading SQLite PRAGMA), and nothing anywhere
in its tree writes, locks, runs code or calls a function with side effects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.errors import ErrorLevel

from ai.guardrails import lexer
from ai.guardrails.rules import (
    EXPLAIN_EXECUTING_OPTIONS,
    EXPLAIN_LEADERS,
    KEYWORD_STATEMENTS,
    READ_LEADERS,
    SIDE_EFFECT_FUNCTION_PREFIXES,
    SIDE_EFFECT_FUNCTIONS,
    SQLITE_READ_PRAGMAS,
    SQLITE_READ_PRAGMAS_WITH_ARGUMENT,
    STATEMENT_STARTERS,
    TSQL_STATEMENT_WORDS,
    Kind,
)

# read_only < unknown < write < ddl: a statement or text takes the highest kind found in it, so a
# known write is reported as such even next to something unparseable.
RANK: dict[Kind, int] = {"read_only": 0, "unknown": 1, "write": 2, "ddl": 3}

_WRITE_NODES: tuple[type[exp.Expr], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Copy,
    exp.TruncateTable,
    exp.LoadData,
)
_DDL_NODES: tuple[type[exp.Expr], ...] = (
    exp.Create,
    exp.Alter,
    exp.Drop,
    exp.Comment,
    exp.Grant,
    exp.Revoke,
    exp.AlterRename,
    exp.RenameColumn,
)
_CODE_NODES: tuple[type[exp.Expr], ...] = (
    exp.Execute,
    exp.ExecuteSql,
    exp.StoredProcedure,
    exp.Command,
    exp.Block,
    exp.IfBlock,
    exp.WhileBlock,
    exp.LoopBlock,
    exp.RepeatBlock,
)
_SESSION_NODES: tuple[type[exp.Expr], ...] = (
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Use,
    exp.Declare,
    exp.Attach,
    exp.Detach,
    exp.Analyze,
    exp.Kill,
    exp.LockingStatement,
    exp.Cache,
    exp.Uncache,
    exp.Refresh,
    exp.Export,
    exp.Put,
    exp.Get,
    exp.Install,
)
_QUERY_NODES: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Subquery)


@dataclass
class Statement:
    kind: Kind
    reasons: list[str] = field(default_factory=list)
    node: exp.Expr | None = None  # the parsed statement, when sqlglot parsed it
    normalized: str | None = None  # sqlglot's rendering without comments
    limitable: bool = False  # a query whose row count a LIMIT/TOP can cap

    def worsen(self, kind: Kind, reason: str) -> None:
        if RANK[kind] > RANK[self.kind]:
            self.kind = kind
        if reason not in self.reasons:
            self.reasons.append(reason)


def render(node: exp.Expr, dialect: str) -> str:
    # Comments are dropped: the rendered text is what was checked, with nothing hidden in it.
    # Function names keep their case so quoted, case-sensitive names still resolve.
    return node.sql(dialect=dialect, comments=False, normalize_functions=False)


def analyse_statement(sql: str, tokens: list[Token], dialect: str) -> Statement:
    """Classifies the tokens of one statement (no semicolons in `tokens`)."""
    word = lexer.leading_word(tokens)
    if word in EXPLAIN_LEADERS:
        return _analyse_explain(sql, tokens, dialect, word)

    node = _parse(sql, tokens, dialect)
    statement = Statement(kind="unknown", node=node)
    if node is not None:
        statement.normalized = render(node, dialect)

    if word in KEYWORD_STATEMENTS:
        kind, reason = KEYWORD_STATEMENTS[word]
        statement.worsen(kind, f"{word} {reason}.")
    elif node is None:
        statement.reasons.append("The statement could not be parsed, so it cannot be checked.")
    elif word in READ_LEADERS or (word == "PRAGMA" and dialect == "sqlite"):
        _classify_reading_node(statement, node, tokens)
    else:
        _classify_other_node(statement, node, word)

    for reason in lexer.forbidden_word_reasons(tokens[1:], dialect):
        statement.worsen("write", f"{reason}.")
    if node is not None:
        for kind, reason in _tree_findings(node, dialect):
            # Doubts about names only matter while the statement could still pass as read-only.
            if kind != "unknown" or RANK[statement.kind] <= RANK["unknown"]:
                statement.worsen(kind, reason)
    return statement


def _parse(sql: str, tokens: list[Token], dialect: str) -> exp.Expr | None:
    """Parses the statement's own text with sqlglot's standard tokenizer and parser."""
    try:
        nodes = sqlglot.parse(
            lexer.source(sql, tokens), read=dialect, error_level=ErrorLevel.IMMEDIATE
        )
    except Exception:
        return None
    parsed = [n for n in nodes if n is not None and not isinstance(n, exp.Semicolon)]
    return parsed[0] if len(parsed) == 1 else None


def _classify_reading_node(statement: Statement, node: exp.Expr, tokens: list[Token]) -> None:
    if isinstance(node, (*_QUERY_NODES, exp.Values)):
        statement.kind = "read_only"
        statement.limitable = isinstance(node, _QUERY_NODES)
    elif isinstance(node, exp.Show):
        statement.kind = "read_only"
    elif isinstance(node, exp.Command) and str(node.this).upper() == "SHOW":
        # sqlglot keeps the rest of this SHOW as raw text: accept names only, no expressions
        # and no ClickHouse SETTINGS clause.
        if any(
            token.token_type == TokenType.L_PAREN or lexer.word(token) == "SETTINGS"
            for token in tokens
        ):
            statement.reasons.append("SHOW with an expression or settings could not be checked.")
        else:
            statement.kind = "read_only"
    elif isinstance(node, exp.Pragma):
        _classify_pragma(statement, node)
    else:
        _classify_other_node(statement, node, "")
        if statement.kind == "unknown":
            statement.reasons.append("The statement is not a recognised read-only statement.")


def _classify_other_node(statement: Statement, node: exp.Expr, word: str) -> None:
    if isinstance(node, _WRITE_NODES):
        statement.worsen("write", "The statement changes table data.")
    elif isinstance(node, _DDL_NODES):
        statement.worsen("ddl", "The statement changes the schema or permissions.")
    elif isinstance(node, _CODE_NODES + _SESSION_NODES):
        statement.worsen("write", "The statement changes state or runs code.")
    else:
        label = word or type(node).__name__
        statement.reasons.append(f"{label} is not a recognised read-only statement.")


def _classify_pragma(statement: Statement, node: exp.Pragma) -> None:
    target = node.this
    has_argument = isinstance(target, exp.EQ)
    name_node = target.this if isinstance(target, exp.EQ) else target
    if isinstance(name_node, exp.Dot):  # schema.pragma
        name_node = name_node.expression
    name = name_node.name.lower() if isinstance(name_node, exp.Expr) else ""
    allowed = SQLITE_READ_PRAGMAS_WITH_ARGUMENT if has_argument else SQLITE_READ_PRAGMAS
    if name in allowed:
        statement.kind = "read_only"
    else:
        statement.worsen("write", f"PRAGMA {name or '?'} can change database settings.")


def _tree_findings(root: exp.Expr, dialect: str) -> Iterable[tuple[Kind, str]]:
    for node in root.walk():
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if _is_side_effect_function(name):
                yield "write", f"It calls {name}(), which has side effects."
        if isinstance(node, exp.Query) and node.args.get("settings"):
            yield "write", "Its SETTINGS clause changes server settings for the query."
        if node is root:
            continue
        if isinstance(node, _WRITE_NODES):
            yield "write", f"It contains a nested {node.key.upper()}, which changes data."
        elif isinstance(node, _DDL_NODES):
            yield "ddl", f"It contains a nested {node.key.upper()}, which changes the schema."
        elif isinstance(node, _CODE_NODES + _SESSION_NODES):
            yield "write", "It contains a statement that changes state or runs code."
        elif isinstance(node, exp.Into):
            yield "ddl", "SELECT ... INTO creates a table (or writes into variables)."
        elif isinstance(node, exp.Lock):
            yield "write", "It takes row locks (FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE)."
        elif isinstance(node, exp.Schema):
            # A table with an argument list; in a query it is a table function sqlglot did not
            # recognise as one (ClickHouse `DESCRIBE url(...)` parses this way).
            yield "unknown", "A table reference with arguments could not be checked."
        elif isinstance(node, exp.NextValueFor):
            yield "write", "NEXT VALUE FOR advances a sequence."
        elif (
            dialect == "tsql"
            and isinstance(node, exp.Identifier)
            and not node.quoted
            and node.name.upper() in TSQL_STATEMENT_WORDS
        ):
            yield (
                "unknown",
                f"The reserved word {node.name.upper()} is used as a name; SQL Server would "
                "start a new statement there.",
            )


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        this = node.this
        return (this.name if isinstance(this, exp.Expr) else str(this)).lower()
    return node.sql_name().lower()


def _is_side_effect_function(name: str) -> bool:
    return name in SIDE_EFFECT_FUNCTIONS or name.startswith(SIDE_EFFECT_FUNCTION_PREFIXES)


def _analyse_explain(sql: str, tokens: list[Token], dialect: str, word: str) -> Statement:
    """EXPLAIN [options] <statement>: the options decide whether the statement runs."""
    # `DESCRIBE TABLE t` describes a table; `EXPLAIN TABLE t` explains the query TABLE t.
    starters = STATEMENT_STARTERS - {"TABLE"} if word != "EXPLAIN" else STATEMENT_STARTERS
    start = next(
        (i for i, token in enumerate(tokens[1:], start=1) if lexer.word(token) in starters),
        None,
    )
    if start is None:  # DESCRIBE table
        node = _parse(sql, tokens, dialect)
        statement = Statement(kind="unknown", node=node)
        # Only a plain table name: sqlglot reads ClickHouse `DESCRIBE url(...)` as a table with
        # a column list, hiding a function that fetches the URL.
        if (
            isinstance(node, exp.Describe)
            and isinstance(node.this, exp.Table)
            and isinstance(node.this.this, exp.Identifier)
        ):
            statement.kind = "read_only"
            statement.normalized = render(node, dialect)
            for kind, reason in _tree_findings(node, dialect):
                statement.worsen(kind, reason)
        else:
            statement.reasons.append(
                f"{word} of something other than a table name or a statement could not be checked."
            )
        return statement

    options = tokens[1:start]
    executes = any(lexer.word(token) in EXPLAIN_EXECUTING_OPTIONS for token in options)
    inner = analyse_statement(sql, tokens[start:], dialect)
    statement = Statement(kind=inner.kind, reasons=list(inner.reasons), node=inner.node)
    if inner.normalized is not None:
        statement.normalized = " ".join(filter(None, [word, _render_tokens(options)])) + (
            " " + inner.normalized
        )
    if inner.kind != "read_only":
        if executes:
            statement.reasons.insert(0, f"{word} ANALYZE runs the statement it explains.")
        else:
            statement.reasons.insert(
                0, f"{word} of a statement that is not read-only is treated like the statement."
            )
    return statement


def _render_tokens(tokens: list[Token]) -> str:
    """EXPLAIN's options, rebuilt from their tokens so no comment comes along."""
    out = ""
    for token in tokens:
        text = token.text
        if token.token_type in lexer.QUOTED_TOKEN_TYPES:
            text = "'" + text.replace("'", "''") + "'"
        glued = token.token_type in (TokenType.R_PAREN, TokenType.COMMA)
        if out and not out.endswith("(") and not glued:
            out += " "
        out += text
    return out
