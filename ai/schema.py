"""Picking the part of a large schema the model needs, within a token budget.

Clients send their whole schema (thousands of tables is normal for an ERP or a data warehouse);
the prompt gets only what the question is likely about:

1. Every table is a small document: its name (counted three times), schema, column names,
   comments, and the names of the tables its foreign keys point to. Identifiers are split on
   `_`, `.`, digits and camelCase, lower-cased and lightly stemmed (plural endings), the same
   way for the question.
2. The question (plus the SQL in the editor and the last user turn) is scored against them
   with Okapi BM25 (k1 = 1.2, b = 0.75). A table named outright in the question or the editor
   SQL gets a large bonus.
3. Foreign-key neighbours of the best tables inherit part of their score, so a join path (an
   `order_items` between `orders` and `products`) comes along.
4. Tables are written best first, in full (columns, types, keys) while the budget allows, then
   in a compact form (keys and the matching columns only), then by name only. The model can
   ask the client for more with the `list_tables` and `describe_table` tools.

Why lexical and not embeddings: it needs no second model, no network call and no index on the
path to the first token; it is deterministic and testable; it takes milliseconds for 5,000
tables; and schema identifiers are words (`invoice_payments`) that lexical matching handles
well. What it misses is synonyms (a question about "clients" for a `customers` table); the
tools cover that, and an embedding ranker could replace `rank_tables` behind the same interface.

Token counts are estimated as characters / 4 (no tokenizer dependency); the budget is meant to
be conservative.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_TABLES = 50_000
MAX_COLUMNS = 2_000
_MENTION_BONUS = 25.0
_NEIGHBOUR_SHARE = 0.5
_NEIGHBOUR_SOURCES = 12
_K1 = 1.2

_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "per",
        "each",
        "every",
        "all",
        "any",
        "some",
        "no",
        "not",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "they",
        "their",
        "them",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "more",
        "most",
        "less",
        "least",
        "than",
        "then",
        "there",
        "here",
        "please",
        "show",
        "list",
        "give",
        "get",
        "find",
        "tell",
        "write",
        "make",
        "create",
        "return",
        "display",
        "want",
        "need",
        "would",
        "could",
        "should",
        "can",
        "will",
        "sql",
        "query",
        "queries",
        "select",
        "table",
        "tables",
        "column",
        "columns",
        "row",
        "rows",
        "data",
        "database",
        "db",
        "number",
        "count",
        "total",
        "amount",
        "value",
        "values",
        "sum",
        "average",
        "avg",
        "top",
        "first",
        "last",
        "between",
        "over",
        "under",
        "using",
        "use",
        "used",
        "about",
        "like",
        "just",
        "only",
        "also",
        "new",
        "old",
    ]
)

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Words of an identifier or a sentence, for matching."""
    return list(_terms(text or ""))


@functools.lru_cache(maxsize=100_000)
def _terms(text: str) -> tuple[str, ...]:
    # Cached: the same column names (id, name, created_at, ...) come back thousands of times.
    text = _CAMEL.sub(r"\1 \2", text)
    out = []
    for raw in _SPLIT.split(text):
        word = raw.lower()
        if len(word) < 2 or word.isdigit() or word in _STOP_WORDS:
            continue
        out.append(_stem(word))
    return tuple(out)


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


# ---------------------------------------------------------------------------------------------
# The client's schema
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Column:
    name: str
    type: str = ""
    nullable: bool = True
    primary_key: bool = False
    comment: str = ""
    references: str = ""  # "table.column" when the column alone is a foreign key


@dataclass
class Table:
    name: str
    schema: str = ""
    kind: str = "table"
    comment: str = ""
    columns: list[Column] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # qualified names of referenced tables

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass
class Enum:
    name: str
    values: list[str]
    schema: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass
class Schema:
    tables: list[Table]
    enums: list[Enum]

    @classmethod
    def from_client(cls, raw: Any) -> Schema:
        """Parse the schema a client sent (see docs/ai.md); unknown keys are ignored and
        malformed entries skipped, never fatal."""
        if not isinstance(raw, Mapping):
            return cls([], [])
        tables: list[Table] = []
        for item in _list(raw.get("tables"))[:MAX_TABLES]:
            if not isinstance(item, Mapping) or not _str(item.get("name")):
                continue
            table = Table(
                name=_str(item.get("name")),
                schema=_str(item.get("schema")),
                kind=_str(item.get("kind")) or "table",
                comment=_str(item.get("comment"))[:500],
            )
            for col in _list(item.get("columns"))[:MAX_COLUMNS]:
                # Plain type checks: this loop runs for every column of thousands of tables.
                if type(col) is str:
                    table.columns.append(Column(col))
                elif type(col) is dict and type(name := col.get("name")) is str and name:
                    table.columns.append(
                        Column(
                            name=name,
                            type=_str(col.get("type"))[:80],
                            nullable=col.get("nullable") is not False,
                            primary_key=bool(col.get("primary_key")),
                            comment=_str(col.get("comment"))[:200],
                            references=_str(col.get("references"))[:200],
                        )
                    )
            by_name = {c.name: c for c in table.columns}
            for fk in _list(item.get("foreign_keys")):
                if not isinstance(fk, Mapping):
                    continue
                target = fk.get("references")
                if not isinstance(target, Mapping) or not _str(target.get("table")):
                    continue
                ref_table = _str(target.get("table"))
                ref_schema = _str(target.get("schema"))
                qualified = f"{ref_schema}.{ref_table}" if ref_schema else ref_table
                table.references.append(qualified)
                local = [_str(c) for c in _list(fk.get("columns"))]
                remote = [_str(c) for c in _list(target.get("columns"))]
                if len(local) == 1 and local[0] in by_name:
                    by_name[local[0]].references = f"{ref_table}.{remote[0] if remote else ''}"
            for column in table.columns:
                if column.references:
                    target_table = column.references.rsplit(".", 1)[0]
                    if target_table and target_table not in table.references:
                        table.references.append(target_table)
            tables.append(table)
        enums = [
            Enum(
                _str(e.get("name")),
                [_str(v) for v in _list(e.get("values"))][:200],
                _str(e.get("schema")),
            )
            for e in _list(raw.get("enums"))
            if isinstance(e, Mapping) and _str(e.get("name"))
        ]
        return cls(tables, enums)


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def _str(value: Any) -> str:
    return value if type(value) is str else ""


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------
# BM25F fields: (weight, length normalisation b). A word in the table's name says much more
# about what the table holds than the same word in one of forty column names.
_FIELDS: dict[str, tuple[float, float]] = {
    "name": (4.0, 0.3),
    "columns": (1.0, 0.75),
    "comments": (1.0, 0.75),
    "references": (0.5, 0.0),
}


def _fields(table: Table) -> dict[str, Counter[str]]:
    comment_words = list(_terms(table.comment))
    column_words: list[str] = []
    for column in table.columns:
        column_words += _terms(column.name)
        if column.comment:
            comment_words += _terms(column.comment)
    columns, comments = Counter(column_words), Counter(comment_words)
    return {
        "name": Counter(terms(table.name) + terms(table.schema)),
        "columns": columns,
        "comments": comments,
        "references": Counter(w for t in table.references for w in terms(t.rsplit(".", 1)[-1])),
    }


def _mentions(texts: Iterable[str]) -> set[str]:
    """Identifiers written out in the question or the editor SQL (lower-case, both the full
    dotted name and its last part)."""
    found: set[str] = set()
    for text in texts:
        for ident in _IDENT.findall(text or ""):
            lowered = ident.lower().strip('"`[]')
            found.add(lowered)
            found.add(lowered.rsplit(".", 1)[-1])
    return found


def rank_tables(schema: Schema, query_texts: Sequence[str]) -> list[tuple[Table, float]]:
    """Tables with their relevance, best first (tables that match nothing are left out)."""
    tables = schema.tables
    if not tables:
        return []
    query = {t for text in query_texts for t in terms(text)}
    mentions = _mentions(query_texts)
    documents = [_fields(table) for table in tables]
    total = len(tables)
    average = {
        name: (sum(sum(doc[name].values()) for doc in documents) / total) or 1.0 for name in _FIELDS
    }
    frequency: Counter[str] = Counter()
    for doc in documents:
        for word in query:
            if any(word in doc[name] for name in _FIELDS):
                frequency[word] += 1
    idf = {
        word: math.log(1 + (total - frequency[word] + 0.5) / (frequency[word] + 0.5))
        for word in query
        if frequency[word]
    }
    scores: dict[int, float] = {}
    for index, (table, doc) in enumerate(zip(tables, documents, strict=True)):
        norms = {
            name: 1 - b + b * sum(doc[name].values()) / average[name]
            for name, (_, b) in _FIELDS.items()
        }
        score = 0.0
        for word, weight in idf.items():
            tf = sum(
                w * doc[name][word] / norms[name]
                for name, (w, _) in _FIELDS.items()
                if word in doc[name]
            )
            if tf:
                score += weight * tf * (_K1 + 1) / (tf + _K1)
        if table.name.lower() in mentions or table.qualified.lower() in mentions:
            score += _MENTION_BONUS
        if score > 0:
            scores[index] = score

    # Foreign-key neighbours (both directions) of the best tables share in their score.
    by_name: dict[str, list[int]] = {}
    for index, table in enumerate(tables):
        by_name.setdefault(table.name.lower(), []).append(index)
        by_name.setdefault(table.qualified.lower(), []).append(index)
    referenced_by: dict[int, set[int]] = {}
    for index, table in enumerate(tables):
        for target in table.references:
            for other in by_name.get(
                target.lower(), by_name.get(target.lower().rsplit(".", 1)[-1], [])
            ):
                referenced_by.setdefault(other, set()).add(index)
    best = sorted(scores, key=lambda i: -scores[i])[:_NEIGHBOUR_SOURCES]
    bonus: dict[int, float] = {}
    for index in best:
        neighbours = set(referenced_by.get(index, set()))
        for target in tables[index].references:
            neighbours.update(by_name.get(target.lower(), []))
        for other in neighbours - {index}:
            bonus[other] = bonus.get(other, 0.0) + _NEIGHBOUR_SHARE * scores[index]
    for other, extra in bonus.items():
        # Evidence adds up: a table that matches the question itself and also joins a top
        # table (customers, for "invoices per customer") beats one that only matches.
        scores[other] = scores.get(other, 0.0) + extra

    ranked = sorted(scores.items(), key=lambda item: (-item[1], tables[item[0]].qualified))
    return [(tables[index], score) for index, score in ranked]


# ---------------------------------------------------------------------------------------------
# Rendering within a budget
# ---------------------------------------------------------------------------------------------
def _column_text(column: Column) -> str:
    text = f"{column.name} {column.type}".strip()
    if column.primary_key:
        text += " PK"
    if not column.nullable and not column.primary_key:
        text += " NOT NULL"
    if column.references:
        text += f" -> {column.references}"
    if column.comment:
        text += f" /* {column.comment[:80]} */"
    return text


def render_table(table: Table, *, only: set[str] | None = None) -> str:
    columns = [c for c in table.columns if only is None or c.name in only]
    head = f"{table.kind} {table.qualified}" if table.kind != "table" else table.qualified
    line = f"{head}({', '.join(_column_text(c) for c in columns)}"
    if only is not None and len(columns) < len(table.columns):
        line += f", … {len(table.columns) - len(columns)} more columns"
    line += ")"
    if table.comment:
        line += f" -- {table.comment[:200]}"
    return line


@dataclass(frozen=True)
class SchemaContext:
    """What goes into the prompt, and what was left out."""

    text: str
    tables_total: int
    tables_full: list[str]
    tables_compact: list[str]
    tables_named: list[str]
    estimated_tokens: int

    @property
    def truncated(self) -> bool:
        shown = len(self.tables_full) + len(self.tables_compact)
        return shown < self.tables_total

    def summary(self) -> dict[str, Any]:
        return {
            "tables_total": self.tables_total,
            "tables_included": len(self.tables_full) + len(self.tables_compact),
            "tables": self.tables_full + self.tables_compact,
            "truncated": self.truncated,
            "estimated_tokens": self.estimated_tokens,
        }


def select_schema(
    raw_schema: Any,
    query_texts: Sequence[str],
    *,
    budget_tokens: int,
    sample_values: Mapping[str, Any] | None = None,
) -> SchemaContext:
    """The schema text for the prompt: all of it when it fits, else the relevant part. Sample
    values (`{"table.column": [...]}`) follow the line of their table."""
    schema = raw_schema if isinstance(raw_schema, Schema) else Schema.from_client(raw_schema)
    total = len(schema.tables)
    if not total and not schema.enums:
        return SchemaContext("", 0, [], [], [], 0)
    samples = _samples_by_table(sample_values or {})

    def with_samples(table: Table, line: str) -> str:
        extra = samples.get(table.qualified.lower()) or samples.get(table.name.lower())
        return line + "\n" + "\n".join(extra) if extra else line

    full_lines = {id(t): with_samples(t, render_table(t)) for t in schema.tables}
    everything = sum(estimate_tokens(line) + 1 for line in full_lines.values())
    if everything <= budget_tokens:
        chosen_full = sorted(schema.tables, key=lambda t: t.qualified)
        lines: list[str] = [full_lines[id(t)] for t in chosen_full]
        lines += _enum_lines(schema.enums, chosen_full, set(), everything, budget_tokens)
        text = "\n".join(lines)
        names = [t.qualified for t in chosen_full]
        return SchemaContext(text, total, names, [], [], estimate_tokens(text))

    query_words = {w for text in query_texts for w in terms(text)}
    ranked = rank_tables(schema, query_texts)
    # Names-only listing gets what the full and compact forms leave, up to 15% of the budget.
    main_budget = int(budget_tokens * 0.85)
    used = 0
    lines = []
    full: list[Table] = []
    compact: list[Table] = []
    misses = 0
    for table, _score in ranked:
        line = full_lines[id(table)]
        cost = estimate_tokens(line) + 1
        if used + cost <= main_budget:
            lines.append(line)
            full.append(table)
            used += cost
            continue
        keep = {
            c.name
            for c in table.columns
            if c.primary_key or c.references or set(terms(c.name)) & query_words
        }
        line = with_samples(table, render_table(table, only=keep))
        cost = estimate_tokens(line) + 1
        if used + cost <= main_budget:
            lines.append(line)
            compact.append(table)
            used += cost
        else:
            misses += 1
        if used >= main_budget - 8 or misses > 50:
            break
    shown = {id(t) for t in full} | {id(t) for t in compact}
    lines += _enum_lines(schema.enums, full + compact, query_words, used, budget_tokens)
    used = sum(estimate_tokens(line) + 1 for line in lines)
    named: list[str] = []
    ranked_ids = {id(t) for t, _ in ranked}
    rest = [t for t, _ in ranked if id(t) not in shown] + sorted(
        (t for t in schema.tables if id(t) not in ranked_ids), key=lambda t: t.qualified
    )
    if rest:
        header = f"-- {len(rest)} more tables (ask describe_table for their columns):"
        remaining = budget_tokens - used - estimate_tokens(header) - 1
        for table in rest:
            cost = estimate_tokens(table.qualified) + 1
            if cost > remaining:
                break
            named.append(table.qualified)
            remaining -= cost
        if named:
            lines.append(header)
            lines.append(", ".join(named))
    text = "\n".join(lines)
    return SchemaContext(
        text,
        total,
        [t.qualified for t in full],
        [t.qualified for t in compact],
        named,
        estimate_tokens(text),
    )


def _enum_lines(
    enums: Sequence[Enum],
    tables: Sequence[Table],
    query_words: set[str],
    used: int,
    budget: int,
) -> list[str]:
    types = {c.type.lower().rsplit(".", 1)[-1] for t in tables for c in t.columns}
    lines = []
    for enum in enums:
        if enum.name.lower() not in types and not set(terms(enum.name)) & query_words:
            continue
        line = f"enum {enum.qualified}: {', '.join(enum.values)}"
        cost = estimate_tokens(line) + 1
        if used + cost > budget:
            continue
        lines.append(line)
        used += cost
    return lines


def _samples_by_table(sample_values: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{"table.column": [values]}` as comment lines per (lower-case) table name."""
    out: dict[str, list[str]] = {}
    for key, values in sample_values.items():
        if not isinstance(key, str) or "." not in key or not isinstance(values, list):
            continue
        table = key.rsplit(".", 1)[0].lower()
        shown = ", ".join(str(v)[:60] for v in values[:10])
        out.setdefault(table, []).append(f"-- sample values of {key}: {shown}")
    return out
