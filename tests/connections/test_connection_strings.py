"""Connection strings, table-driven: parsing every engine's forms (TLS parameters included),
building them back, round trips, and errors that name the field and never echo a password."""

from __future__ import annotations

from typing import Any

import pytest

from connections.connection_strings import (
    ConnectionStringError,
    ParsedConnection,
    build_ado_string,
    build_connection_url,
    from_fields,
    parse_connection_string,
    validate_options,
)

PW = "s3cr3t-PW"


def P(engine: str, **fields: Any) -> ParsedConnection:
    return ParsedConnection(engine=engine, **fields)


PARSE_CASES: list[tuple[str, str | None, ParsedConnection]] = [
    # --- postgres
    (
        f"postgres://app:{PW}@db.example.com:5432/shop",
        None,
        P(
            "postgres",
            host="db.example.com",
            port=5432,
            database="shop",
            username="app",
            password=PW,
        ),
    ),
    (
        "postgresql://app@db.example.com/shop?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem"
        "&sslcert=/c.pem&sslkey=/k.pem&application_name=wb",
        None,
        P(
            "postgres",
            host="db.example.com",
            database="shop",
            username="app",
            options={
                "tls": {
                    "mode": "verify-full",
                    "ca_cert": "/etc/ssl/ca.pem",
                    "client_cert": "/c.pem",
                    "client_key_path": "/k.pem",
                },
                "params": {"application_name": "wb"},
            },
        ),
    ),
    (
        "postgresql+psycopg://u:p%40ss%2Fw%3Ard@[2001:db8::1]:6432/db",
        None,
        P(
            "postgres",
            host="2001:db8::1",
            port=6432,
            database="db",
            username="u",
            password="p@ss/w:rd",
        ),
    ),
    (  # unencoded '@', ':' and '/' in the password still parse (the last '@' ends it)
        "postgres://u:p@ss:w/rd@host/db",
        None,
        P("postgres", host="host", database="db", username="u", password="p@ss:w/rd"),
    ),
    (
        "postgres://u@h1:5432,h2:5433/db?sslmode=require",
        None,
        P(
            "postgres",
            host="h1",
            port=5432,
            database="db",
            username="u",
            options={
                "hosts": [{"host": "h1", "port": 5432}, {"host": "h2", "port": 5433}],
                "tls": {"mode": "require"},
            },
        ),
    ),
    (
        "postgres:///shop?host=/var/run/postgresql&user=me",
        None,
        P("postgres", host="/var/run/postgresql", database="shop", username="me"),
    ),
    (
        "postgres://%2Frun%2Fpg/shop",
        None,
        P("postgres", host="/run/pg", database="shop"),
    ),
    (
        "postgres://db.example.com/shop?password=fromquery&dbname=other",
        None,
        P("postgres", host="db.example.com", database="other", password="fromquery"),
    ),
    (  # CockroachDB and Redshift speak PostgreSQL's wire protocol and URLs
        "postgresql://root@crdb:26257/defaultdb?sslmode=verify-full",
        "cockroachdb",
        P(
            "cockroachdb",
            host="crdb",
            port=26257,
            database="defaultdb",
            username="root",
            options={"tls": {"mode": "verify-full"}},
        ),
    ),
    # --- mysql / mariadb
    (
        f"mysql://root:{PW}@localhost:3306/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem",
        None,
        P(
            "mysql",
            host="localhost",
            port=3306,
            database="app",
            username="root",
            password=PW,
            options={"tls": {"mode": "verify-full", "ca_cert": "/ca.pem"}},
        ),
    ),
    (
        "mysql+pymysql://u@h/db?sslmode=required&charset=utf8mb4",
        None,
        P(
            "mysql",
            host="h",
            database="db",
            username="u",
            options={"tls": {"mode": "require"}, "params": {"charset": "utf8mb4"}},
        ),
    ),
    (
        "mysql://u@h/db?ssl_mode=verify_ca&ssl-cert=/c.pem&ssl-key=/k.pem",
        None,
        P(
            "mysql",
            host="h",
            database="db",
            username="u",
            options={
                "tls": {"mode": "verify-ca", "client_cert": "/c.pem", "client_key_path": "/k.pem"}
            },
        ),
    ),
    (
        "mariadb://u:p@maria.example.com/db?tls=skip-verify",
        None,
        P(
            "mariadb",
            host="maria.example.com",
            database="db",
            username="u",
            password="p",
            options={"tls": {"mode": "require"}},
        ),
    ),
    (
        "mysql://u@h/db?ssl=false",
        None,
        P("mysql", host="h", database="db", username="u", options={"tls": {"mode": "disable"}}),
    ),
    (  # a mysql:// URL for a MariaDB connection
        "mysql://u@h/db?tls=true",
        "mariadb",
        P(
            "mariadb",
            host="h",
            database="db",
            username="u",
            options={"tls": {"mode": "verify-full"}},
        ),
    ),
    # --- mssql
    (
        f"sqlserver://sa:{PW}@sql.example.com:1433?database=erp&encrypt=true&TrustServerCertificate=false",
        None,
        P(
            "mssql",
            host="sql.example.com",
            port=1433,
            database="erp",
            username="sa",
            password=PW,
            options={"tls": {"mode": "verify-full"}},
        ),
    ),
    (
        "mssql://sa:p@sql/SQLEXPRESS?database=erp&encrypt=true&trustServerCertificate=true",
        None,
        P(
            "mssql",
            host="sql",
            database="erp",
            username="sa",
            password="p",
            options={"instance": "SQLEXPRESS", "tls": {"mode": "require"}},
        ),
    ),
    (
        "jdbc:sqlserver://sql.example.com:1433;databaseName=erp;user=sa;password={a;b};"
        "encrypt=strict;hostNameInCertificate=*.example.com",
        None,
        P(
            "mssql",
            host="sql.example.com",
            port=1433,
            database="erp",
            username="sa",
            password="a;b",
            options={
                "tls": {"mode": "verify-full", "strict": True, "server_name": "*.example.com"}
            },
        ),
    ),
    (
        "sqlserver://sql\\INST;database=erp;integratedSecurity=true",
        None,
        P(
            "mssql",
            host="sql",
            database="erp",
            options={"instance": "INST", "params": {"integratedsecurity": "true"}},
        ),
    ),
    (
        'Server=tcp:sql.example.com,1433;Initial Catalog=erp;User ID=sa;Password="x;y""z";'
        "Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;",
        None,
        P(
            "mssql",
            host="sql.example.com",
            port=1433,
            database="erp",
            username="sa",
            password='x;y"z',
            options={"tls": {"mode": "verify-full"}, "params": {"connection timeout": "30"}},
        ),
    ),
    (
        "Data Source=db01\\SQLEXPRESS;Database=erp;UID=sa;PWD={p}}w};Encrypt=no",
        "mssql",
        P(
            "mssql",
            host="db01",
            database="erp",
            username="sa",
            password="p}w",
            options={"instance": "SQLEXPRESS", "tls": {"mode": "disable"}},
        ),
    ),
    # --- clickhouse
    (
        f"clickhouse://default:{PW}@ch.example.com:9440/analytics?secure=true",
        None,
        P(
            "clickhouse",
            host="ch.example.com",
            port=9440,
            database="analytics",
            username="default",
            password=PW,
            options={"protocol": "native", "tls": {"mode": "verify-full"}},
        ),
    ),
    (
        "tcp://ch:9000?database=logs&username=u&password=p&compress=lz4",
        None,
        P(
            "clickhouse",
            host="ch",
            port=9000,
            database="logs",
            username="u",
            password="p",
            options={"protocol": "native", "params": {"compress": "lz4"}},
        ),
    ),
    (
        "https://u:p@ch.example.com:8443/?database=analytics&skip_verify=true",
        None,
        P(
            "clickhouse",
            host="ch.example.com",
            port=8443,
            database="analytics",
            username="u",
            password="p",
            options={"protocol": "http", "tls": {"mode": "require"}},
        ),
    ),
    (
        "http://ch:8123/default",
        "clickhouse",
        P(
            "clickhouse",
            host="ch",
            port=8123,
            database="default",
            options={"protocol": "http", "tls": {"mode": "disable"}},
        ),
    ),
    (
        "clickhouse+https://u@ch/db",
        None,
        P(
            "clickhouse",
            host="ch",
            database="db",
            username="u",
            options={"protocol": "http", "tls": {"mode": "verify-full"}},
        ),
    ),
    # --- sqlite
    ("sqlite:////var/data/app.db", None, P("sqlite", database="/var/data/app.db")),
    ("sqlite:///relative/app.db", None, P("sqlite", database="relative/app.db")),
    ("sqlite:/abs/app.db", None, P("sqlite", database="/abs/app.db")),
    ("sqlite:///C:/data/app.db", None, P("sqlite", database="C:/data/app.db")),
    (
        "file:///home/me/my%20db.sqlite?mode=ro",
        None,
        P("sqlite", database="/home/me/my db.sqlite", options={"params": {"mode": "ro"}}),
    ),
    (
        "file:data.db?mode=rwc&cache=shared",
        None,
        P("sqlite", database="data.db", options={"params": {"mode": "rwc", "cache": "shared"}}),
    ),
    ("sqlite::memory:", None, P("sqlite", database=":memory:")),
    ("./local.sqlite3", None, P("sqlite", database="./local.sqlite3")),
    ("C:\\Users\\me\\app.db", None, P("sqlite", database="C:\\Users\\me\\app.db")),
    ("/srv/data/store", "sqlite", P("sqlite", database="/srv/data/store")),
    # --- mongodb
    (
        f"mongodb://u:{PW}@h1:27017,h2:27018/app?replicaSet=rs0&tls=true&authSource=admin",
        None,
        P(
            "mongodb",
            host="h1",
            port=27017,
            database="app",
            username="u",
            password=PW,
            options={
                "hosts": [{"host": "h1", "port": 27017}, {"host": "h2", "port": 27018}],
                "tls": {"mode": "verify-full"},
                "params": {"replicaSet": "rs0", "authSource": "admin"},
            },
        ),
    ),
    (
        "mongodb+srv://u:p@cluster0.example.net/app?retryWrites=true&w=majority",
        None,
        P(
            "mongodb",
            host="cluster0.example.net",
            database="app",
            username="u",
            password="p",
            options={
                "srv": True,
                "tls": {"mode": "verify-full"},
                "params": {"retryWrites": "true", "w": "majority"},
            },
        ),
    ),
    (
        "mongodb://localhost/?ssl=true&tlsAllowInvalidCertificates=true&tlsCAFile=/ca.pem",
        None,
        P("mongodb", host="localhost", options={"tls": {"mode": "require", "ca_cert": "/ca.pem"}}),
    ),
    (
        "mongodb+srv://c.example.net/?tls=false",
        None,
        P("mongodb", host="c.example.net", options={"srv": True, "tls": {"mode": "disable"}}),
    ),
]


@pytest.mark.parametrize(("text", "engine", "expected"), PARSE_CASES)
def test_parse(text: str, engine: str | None, expected: ParsedConnection) -> None:
    assert parse_connection_string(text, engine=engine) == expected


@pytest.mark.parametrize(("text", "engine", "expected"), PARSE_CASES)
def test_build_round_trips(text: str, engine: str | None, expected: ParsedConnection) -> None:
    built = build_connection_url(expected)
    assert parse_connection_string(built, engine=expected.engine) == expected
    assert build_connection_url(parse_connection_string(built, engine=expected.engine)) == built


BUILD_CASES: list[tuple[dict[str, Any], str]] = [
    (
        {
            "engine": "postgres",
            "host": "db",
            "port": 5432,
            "database": "shop",
            "username": "app",
            "password": "p@ss word/?#",
            "options": {"tls": {"mode": "verify-full", "ca_cert": "/ca.pem"}},
        },
        "postgres://app:p%40ss%20word%2F%3F%23@db:5432/shop?sslmode=verify-full&sslrootcert=/ca.pem",
    ),
    (
        {
            "engine": "mariadb",
            "host": "m",
            "database": "d",
            "username": "u",
            "options": {"tls": {"mode": "require"}},
        },
        "mariadb://u@m/d?ssl-mode=REQUIRED",
    ),
    (
        {
            "engine": "mssql",
            "host": "sql",
            "port": 1433,
            "database": "erp",
            "username": "sa",
            "password": "pw",
            "options": {"tls": {"mode": "require"}},
        },
        "sqlserver://sa:pw@sql:1433?database=erp&encrypt=true&TrustServerCertificate=true",
    ),
    (
        {
            "engine": "clickhouse",
            "host": "ch",
            "port": 8443,
            "database": "a",
            "options": {"protocol": "http", "tls": {"mode": "verify-full"}},
        },
        "https://ch:8443/a",
    ),
    (
        {"engine": "clickhouse", "host": "ch", "database": "a", "options": {"protocol": "native"}},
        "clickhouse://ch/a",
    ),
    ({"engine": "sqlite", "database": "/var/app.db"}, "sqlite:////var/app.db"),
    ({"engine": "sqlite", "database": "my app.db"}, "sqlite:///my%20app.db"),
    (
        {
            "engine": "mongodb",
            "host": "c.example.net",
            "username": "u",
            "password": "p",
            "database": "app",
            "options": {"srv": True},
        },
        "mongodb+srv://u:p@c.example.net/app",
    ),
    (
        {"engine": "redshift", "host": "rs", "port": 5439, "database": "dev"},
        "postgres://rs:5439/dev",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), BUILD_CASES)
def test_build(fields: dict[str, Any], expected: str) -> None:
    assert build_connection_url(from_fields(**fields)) == expected


def test_build_without_password() -> None:
    parsed = parse_connection_string(f"postgres://app:{PW}@db/shop")
    assert build_connection_url(parsed, include_password=False) == "postgres://app@db/shop"


def test_ado_string_round_trip() -> None:
    parsed = parse_connection_string(
        "sqlserver://sa:a%3Bb%3Dc@sql:1433/INST?database=erp&encrypt=true&TrustServerCertificate=true"
    )
    ado = build_ado_string(parsed)
    assert ado == (
        "Server=sql\\INST,1433;Database=erp;User Id=sa;Password={a;b=c};encrypt=true;"
        "TrustServerCertificate=true;"
    )
    assert parse_connection_string(ado) == parsed
    with pytest.raises(ConnectionStringError):
        build_ado_string(parse_connection_string("postgres://h/db"))


ERROR_CASES: list[tuple[str, str | None, str, str]] = [
    ("", None, "url", "is empty"),
    ("   ", None, "url", "is empty"),
    ("oracle://u:{pw}@h/db", None, "scheme", "is not one of"),
    ("u:{pw}@h/db", None, "scheme", "is missing"),
    ("postgres://u:{pw}@host:99999/db", None, "port", "1 to 65535"),
    ("postgres://u:{pw}@host:abc/db", None, "port", "1 to 65535"),
    ("postgres://u:{pw}@host:0/db", None, "port", "1 to 65535"),
    ("postgres://u:{pw}@ho st/db", None, "host", "host name"),
    ("postgres://u:{pw}@[::1/db", None, "host", "unclosed"),
    ("postgres://u:{pw}@h1,,h2/db", None, "host", "empty between commas"),
    ("postgres://u:{pw}@h/db?sslmode=sometimes", None, "sslmode", "disable, allow"),
    ("postgres://u:{pw}@h/db?=x", None, "query", "without a name"),
    ("mysql://u:{pw}@/db", None, "host", "required for mysql"),
    ("mysql://u:{pw}@h1,h2/db", None, "host", "single host"),
    ("mysql://u:{pw}@h/db?ssl-mode=SOMETIMES", None, "ssl-mode", "VERIFY_IDENTITY"),
    ("mysql://u:{pw}@h/db?ssl=maybe", None, "ssl", "true or false"),
    ("sqlserver://sa:{pw}@h?encrypt=perhaps", None, "encrypt", "strict"),
    (
        "sqlserver://sa:{pw}@h?encrypt=true&trustServerCertificate=kinda",
        None,
        "trustServerCertificate",
        "true or false",
    ),
    ("Server=h;Password={pw", None, "password", "unterminated"),
    ("Database=erp;Password={pw}", None, "server", "is missing"),
    ("Server=h,99999;Password={pw}", None, "port", "1 to 65535"),
    ('Server=h;Password="{pw}"x', None, "password", "after its quoted value"),
    ("clickhouse://u:{pw}@/db", None, "host", "required for clickhouse"),
    ("clickhouse://u:{pw}@h/db?secure=sometimes", None, "secure", "true or false"),
    ("sqlite://server/share/app.db", None, "host", "SQLite has no host"),
    ("sqlite:///", None, "database", "is missing"),
    ("mongodb://u:{pw}@/db", None, "host", "required for mongodb"),
    ("mongodb+srv://u:{pw}@c.example.net:27017/db", None, "host", "no port"),
    ("mongodb+srv://u:{pw}@a.example.net,b.example.net/db", None, "host", "no port"),
    ("mongodb://u:{pw}@h/my.db", None, "database", "must not contain"),
    ("mongodb://u:{pw}@h/db?tls=maybe", None, "tls", "true or false"),
    (
        "postgres://u:{pw}@h/db",
        "mysql",
        "engine",
        "is mysql, but the connection string is for postgres",
    ),
    ("postgres://u:{pw}@h/db", "oracle", "engine", "has no connection string format"),
    ("postgres://u:{pw}@h/db\n", None, "url", "control characters"),
    ("postgres://u:{pw}@h/" + "d" * 9000, None, "url", "longer than"),
]


@pytest.mark.parametrize(("template", "engine", "field", "reason"), ERROR_CASES)
def test_errors_name_the_field_and_never_echo_the_password(
    template: str, engine: str | None, field: str, reason: str
) -> None:
    text = template.replace("{pw}", PW)
    with pytest.raises(ConnectionStringError) as info:
        parse_connection_string(text, engine=engine)
    error = info.value
    assert error.field == field
    assert reason in error.reason
    assert str(error) == f"{field}: {error.reason}"
    for part in (PW, "s3cr3t"):
        assert part not in str(error)
        assert part not in repr(error)
        assert part not in str(error.args)


def test_parsed_repr_hides_the_password() -> None:
    parsed = parse_connection_string(f"postgres://app:{PW}@db/shop")
    assert PW not in repr(parsed)
    assert PW not in str(parsed)
    assert "<redacted>" in repr(parsed)
    assert parsed.fields()["password"] == PW


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"colour": "red"}, "options.colour"),
        ({"tls": "on"}, "options.tls"),
        ({"tls": {"mode": "always"}}, "options.tls.mode"),
        ({"tls": {"pin": "x"}}, "options.tls.pin"),
        ({"tls": {"ca_cert": 5}}, "options.tls.ca_cert"),
        ({"ssh": {"port": 70000}}, "options.ssh.port"),
        ({"ssh": {"port": True}}, "options.ssh.port"),
        ({"ssh": {"auth_method": "telepathy"}}, "options.ssh.auth_method"),
        ({"ssh": {"password": "x"}}, "options.ssh.password"),
        ({"params": {"a": 1}}, "options.params"),
        ({"hosts": [{"host": "a", "port": 0}]}, "options.hosts.port"),
        ({"hosts": "a,b"}, "options.hosts"),
        ({"protocol": "grpc"}, "options.protocol"),
        ({"srv": "yes"}, "options.srv"),
    ],
)
def test_validate_options(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConnectionStringError) as info:
        validate_options(options)
    assert info.value.field == field


def test_valid_options_pass() -> None:
    validate_options(
        {
            "tls": {"mode": "verify-full", "ca_cert": "-----BEGIN CERTIFICATE-----..."},
            "ssh": {
                "enabled": True,
                "host": "bastion",
                "port": 22,
                "user": "me",
                "auth_method": "key",
            },
            "params": {"application_name": "wb"},
            "hosts": [{"host": "a", "port": 1}, {"host": "b", "port": None}],
        }
    )
