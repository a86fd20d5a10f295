"""Schema selection for large schemas: relevant tables within a token budget (ai/schema.py)."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from ai.schema import Schema, estimate_tokens, rank_tables, select_schema, terms

DOMAINS = [
    "invoice",
    "payment",
    "refund",
    "customer",
    "order",
    "product",
    "shipment",
    "warehouse",
    "employee",
    "payroll",
    "ledger",
    "account",
    "campaign",
    "ticket",
    "subscription",
    "supplier",
    "contract",
    "asset",
    "audit",
    "session",
]
GENERIC_COLUMNS = [
    f"{word}{n}" if n else word
    for word in [
        "name",
        "code",
        "status",
        "created_at",
        "updated_at",
        "deleted_at",
        "quantity",
        "amount",
        "currency",
        "notes",
        "description",
        "external_ref",
        "sort_order",
        "is_active",
        "valid_from",
        "valid_to",
        "version",
        "owner",
        "source",
        "category",
        "region",
        "label",
        "score",
        "weight",
        "priority",
        "started_at",
        "ended_at",
        "total",
        "tax",
        "discount",
    ]
    for n in ("", "_2")
]
SUFFIXES = [
    "history",
    "items",
    "lines",
    "archive",
    "stats",
    "log",
    "map",
    "settings",
    "snapshot",
    "queue",
]


def synthetic_schema(tables: int = 5_000, seed: int = 7) -> dict[str, Any]:
    """A warehouse-sized schema: `tables` tables over 25 schemas, 8-30 columns each, foreign
    keys to earlier tables; plus a handful of tables a question can be about."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    names: list[str] = []
    for index in range(tables - 4):
        domain = rng.choice(DOMAINS)
        name = f"{domain}_{rng.choice(SUFFIXES)}_{index}"
        columns = [{"name": "id", "type": "bigint", "primary_key": True, "nullable": False}]
        for column in rng.sample(GENERIC_COLUMNS, rng.randint(8, 30)):
            columns.append(
                {
                    "name": column,
                    "type": rng.choice(["text", "integer", "numeric(12,2)", "timestamptz"]),
                }
            )
        # Most tables point at a few others by a `<domain>_id` column, as real ones do.
        for _ in range(rng.randint(0, 3)):
            columns.append({"name": f"{rng.choice(DOMAINS)}_id", "type": "bigint"})
        fks = []
        if names and rng.random() < 0.5:
            target = rng.choice(names)
            columns.append({"name": f"{target}_id", "type": "bigint"})
            fks.append(
                {"columns": [f"{target}_id"], "references": {"table": target, "columns": ["id"]}}
            )
        out.append(
            {
                "schema": f"s{index % 25}",
                "name": name,
                "columns": columns,
                "foreign_keys": fks,
            }
        )
        names.append(name)
    # What the question is about: an invoice table, its payments, the customer they point to,
    # and a bridge table that only a foreign key links to the question.
    out += [
        {
            "schema": "billing",
            "name": "customer_accounts",
            "comment": "People and companies we bill",
            "columns": [
                {"name": "id", "type": "uuid", "primary_key": True},
                {"name": "display_name", "type": "text"},
                {"name": "country", "type": "text"},
            ],
        },
        {
            "schema": "billing",
            "name": "invoices",
            "columns": [
                {"name": "id", "type": "uuid", "primary_key": True},
                {"name": "customer_id", "type": "uuid", "references": "customer_accounts.id"},
                {"name": "total_amount", "type": "numeric(12,2)"},
                {"name": "issued_on", "type": "date"},
                {"name": "status", "type": "invoice_status"},
            ],
        },
        {
            "schema": "billing",
            "name": "invoice_payments",
            "comment": "Money received against an invoice",
            "columns": [
                {"name": "id", "type": "uuid", "primary_key": True},
                {"name": "invoice_id", "type": "uuid"},
                {"name": "amount", "type": "numeric(12,2)"},
                {"name": "paid_at", "type": "timestamptz"},
            ],
            "foreign_keys": [
                {
                    "columns": ["invoice_id"],
                    "references": {"schema": "billing", "table": "invoices", "columns": ["id"]},
                }
            ],
        },
        {
            "schema": "billing",
            "name": "payment_methods",
            "columns": [
                {"name": "id", "type": "uuid", "primary_key": True},
                {"name": "kind", "type": "text"},
            ],
        },
    ]
    return {
        "tables": out,
        "enums": [
            {"schema": "billing", "name": "invoice_status", "values": ["draft", "sent", "paid"]},
            {"name": "unrelated_enum", "values": ["a", "b"]},
        ],
    }


@pytest.fixture(scope="module")
def big_schema() -> dict[str, Any]:
    return synthetic_schema()


def test_terms_split_identifiers_and_drop_noise() -> None:
    assert terms("invoicePayments") == ["invoice", "payment"]
    assert terms("customer_accounts.full_name") == ["customer", "account", "full", "name"]
    assert terms("How many invoices were paid last month?") == ["invoice", "paid", "month"]
    assert terms("ORDER_ITEMS2") == ["order", "item"]


def test_a_5000_table_schema_is_cut_to_the_budget_with_the_right_tables(
    big_schema: dict[str, Any],
) -> None:
    question = "Total invoice payments per customer last month"
    started = time.perf_counter()
    context = select_schema(big_schema, [question], budget_tokens=3_000)
    elapsed = time.perf_counter() - started

    assert context.tables_total == 5_000
    assert context.truncated
    assert context.estimated_tokens <= 3_000
    assert estimate_tokens(context.text) <= 3_000
    shown = context.tables_full + context.tables_compact
    # The tables the question is about come first, with their columns.
    assert shown[:2] == ["billing.invoice_payments", "billing.invoices"]
    assert "billing.customer_accounts" in shown  # a foreign-key neighbour of a top table
    assert "billing.invoice_payments(id uuid PK, invoice_id uuid -> invoices.id" in context.text
    assert "enum billing.invoice_status: draft, sent, paid" in context.text  # used by invoices
    assert "unrelated_enum" not in context.text
    # The rest is named, so the model can ask for it with describe_table.
    assert context.tables_named
    assert "more tables (ask describe_table" in context.text
    # About 0.3 s on one core of the development machine; the bound is for a loaded CI host.
    assert elapsed < 5.0, f"selection took {elapsed:.2f}s"


def test_ranking_puts_named_tables_first_and_uses_editor_sql(big_schema: dict[str, Any]) -> None:
    schema = Schema.from_client(big_schema)
    ranked = rank_tables(schema, ["why is this slow?", "SELECT * FROM billing.payment_methods pm"])
    assert ranked[0][0].qualified == "billing.payment_methods"


def test_a_small_schema_is_sent_whole_and_in_order() -> None:
    schema = {
        "tables": [
            {"name": "users", "columns": [{"name": "id", "type": "int", "primary_key": True}]},
            {"name": "accounts", "columns": ["id", "owner_id"]},
        ]
    }
    context = select_schema(schema, ["anything"], budget_tokens=1_000)
    assert not context.truncated
    assert context.text.splitlines() == ["accounts(id, owner_id)", "users(id int PK)"]


def test_a_table_too_wide_for_the_budget_is_sent_compact() -> None:
    wide = {
        "name": "events",
        "columns": [{"name": "id", "type": "bigint", "primary_key": True}]
        + [{"name": f"attribute_{i}", "type": "text"} for i in range(400)]
        + [{"name": "event_type", "type": "text"}],
    }
    context = select_schema(
        {"tables": [wide, {"name": "x"}]}, ["events by event type"], budget_tokens=300
    )
    assert context.tables_compact == ["events"]
    assert "events(id bigint PK, event_type text, … 400 more columns)" in context.text


def test_sample_values_ride_along_for_selected_tables(big_schema: dict[str, Any]) -> None:
    context = select_schema(
        big_schema,
        ["unpaid invoices"],
        budget_tokens=3_000,
        sample_values={"invoices.status": ["draft", "sent"], "nothing.here": ["x"]},
    )
    assert "-- sample values of invoices.status: draft, sent" in context.text
    assert "nothing.here" not in context.text


@pytest.mark.parametrize(
    "junk", [None, "tables", {"tables": "no"}, {"tables": [1, {"x": 1}, {"name": 5}]}]
)
def test_malformed_schemas_are_ignored_not_fatal(junk: Any) -> None:
    context = select_schema(junk, ["q"], budget_tokens=500)
    assert context.text == ""
    assert context.tables_total == 0
