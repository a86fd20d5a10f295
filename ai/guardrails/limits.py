"""Row limits on read-only queries, in each dialect's own syntax.

The limit always goes on the outermost query, so it caps what the client receives whatever the
inner queries do. A smaller existing limit is kept; a larger or unbounded one is lowered. When
the existing limit cannot be compared (a parameter, an expression, PERCENT, WITH TIES, a
ClickHouse LIMIT BY) the query is wrapped: SELECT * FROM (<query>) AS _limited LIMIT n.
"""

from __future__ import annotations

from sqlglot import exp

WRAP_ALIAS = "_limited"


class LimitError(ValueError):
    """The query's shape does not allow a row limit to be applied safely."""


def limit_query(node: exp.Expr, dialect: str, max_rows: int) -> exp.Expr:
    """Returns a copy of the query `node` that returns at most `max_rows` rows."""
    node = _unwrap(node.copy())
    if not isinstance(node, exp.Select | exp.SetOperation):
        raise LimitError(f"cannot limit a {type(node).__name__}")
    if dialect == "tsql":
        return _limit_tsql(node, max_rows)
    if dialect == "clickhouse" and isinstance(node, exp.SetOperation):
        # In ClickHouse a trailing LIMIT binds to the last SELECT of a UNION, not to the union.
        return _wrap(node, dialect, max_rows)
    return _limit_standard(node, dialect, max_rows)


def effective_limit(node: exp.Expr, dialect: str) -> int | None:
    """The row cap of the outermost query in `node`, or None if it has no comparable one."""
    node = _unwrap(node)
    if not isinstance(node, exp.Select | exp.SetOperation):
        return None
    if dialect == "clickhouse" and isinstance(node, exp.SetOperation):
        return None
    limit = node.args.get("limit")
    if isinstance(limit, exp.Limit):
        if limit.expressions or _has_open_options(limit):
            return None
        return _int_value(limit.expression)
    if isinstance(limit, exp.Fetch):
        if _has_open_options(limit):
            return None
        count = limit.args.get("count")
        return 1 if count is None else _int_value(count)
    return None


def _unwrap(node: exp.Expr) -> exp.Expr:
    # `(SELECT ...)` as a whole statement: limit the query inside the parentheses.
    while isinstance(node, exp.Subquery) and not any(
        node.args.get(key) for key in ("limit", "offset", "order", "alias")
    ):
        node = node.this
    return node


def _limit_standard(node: exp.Select | exp.SetOperation, dialect: str, max_rows: int) -> exp.Expr:
    limit = node.args.get("limit")
    if limit is None:
        node.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))
        return node
    if isinstance(limit, exp.Limit) and not limit.expressions and not _has_open_options(limit):
        value = _int_value(limit.expression)
        if value is not None:
            if value > max_rows:
                limit.set("expression", exp.Literal.number(max_rows))
            return node
        if _is_unbounded(limit.expression):  # LIMIT ALL, LIMIT NULL, SQLite's LIMIT -1
            limit.set("expression", exp.Literal.number(max_rows))
            return node
    if isinstance(limit, exp.Fetch) and _lower_fetch(limit, max_rows):
        return node
    return _wrap(node, dialect, max_rows)


def _limit_tsql(node: exp.Select | exp.SetOperation, max_rows: int) -> exp.Expr:
    limit = node.args.get("limit")
    has_offset = node.args.get("offset") is not None
    if isinstance(limit, exp.Fetch):  # ORDER BY ... OFFSET ... FETCH
        return node if _lower_fetch(limit, max_rows) else _wrap(node, "tsql", max_rows)
    if isinstance(limit, exp.Limit):  # TOP n
        value = _int_value(limit.expression)
        if value is None or _has_open_options(limit) or limit.expressions:
            return _wrap(node, "tsql", max_rows)
        if value > max_rows:
            limit.set("expression", exp.Literal.number(max_rows))
        return node
    if limit is not None:
        return _wrap(node, "tsql", max_rows)
    if has_offset or (isinstance(node, exp.SetOperation) and node.args.get("order")):
        # OFFSET needs FETCH, not TOP; an ordered UNION cannot take TOP nor sit in a derived
        # table without one, but can take OFFSET 0 ROWS FETCH NEXT n ROWS ONLY.
        if not has_offset:
            node.set("offset", exp.Offset(expression=exp.Literal.number(0)))
        node.set("limit", _fetch(max_rows))
        return node
    if isinstance(node, exp.SetOperation):
        return _wrap(node, "tsql", max_rows)
    node.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))  # rendered as TOP
    return node


def _wrap(node: exp.Select | exp.SetOperation, dialect: str, max_rows: int) -> exp.Select:
    inner = node.copy()
    # A CTE cannot sit inside a derived table in every dialect (T-SQL): hoist it to the top.
    with_ = inner.args.get("with_")
    if with_ is not None:
        inner.set("with_", None)
    derived = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(WRAP_ALIAS)))
    outer = exp.select(exp.Star()).from_(derived)
    if with_ is not None:
        outer.set("with_", with_)
    outer.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))
    return outer


def _lower_fetch(fetch: exp.Fetch, max_rows: int) -> bool:
    """Lowers FETCH FIRST/NEXT n ROWS ONLY in place; False if it cannot be compared."""
    if _has_open_options(fetch):
        return False
    count = fetch.args.get("count")
    value = 1 if count is None else _int_value(count)
    if value is None:
        return False
    if value > max_rows:
        fetch.set("count", exp.Literal.number(max_rows))
    return True


def _fetch(max_rows: int) -> exp.Fetch:
    return exp.Fetch(
        direction="NEXT",
        count=exp.Literal.number(max_rows),
        limit_options=exp.LimitOptions(rows=True),
    )


def _has_open_options(limit: exp.Expr) -> bool:
    # PERCENT and WITH TIES can return more rows than the number says.
    options = limit.args.get("limit_options")
    return isinstance(options, exp.Expr) and bool(
        options.args.get("percent") or options.args.get("with_ties")
    )


def _int_value(node: exp.Expr | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        text = str(node.this)
        if text.isdigit():
            return int(text)
    return None


def _is_unbounded(node: exp.Expr | None) -> bool:
    if isinstance(node, exp.Var) and node.name.upper() == "ALL":
        return True
    if isinstance(node, exp.Null):
        return True
    return isinstance(node, exp.Neg) and _int_value(node.this) is not None
