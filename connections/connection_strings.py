"""Connection strings: parse one into connection fields, and build one back from the fields.

    parse_connection_string("postgres://app:s3cret@db.example.com:5432/shop?sslmode=verify-full")
    -> ParsedConnection(engine="postgres", host="db.example.com", port=5432,
                        database="shop", username="app", password=<redacted>,
                        options={"tls": {"mode": "verify-full"}})
    build_connection_url(parsed)
    -> "postgres://app:s3cret@db.example.com:5432/shop?sslmode=verify-full"

Engines and forms (docs/data.md has the full table):

* postgres: `postgres://` / `postgresql://` (a `+driver` suffix is ignored), several hosts
  separated by commas, a Unix socket as a percent-encoded host or `?host=/path`;
* mysql, mariadb: `mysql://`, `mariadb://` (`+driver` ignored);
* mssql: `sqlserver://` / `mssql://` URLs, JDBC-style `sqlserver://host:1433;databaseName=…`
  (with or without `jdbc:`), and ADO.NET strings `Server=tcp:host,1433;Database=…;`;
* clickhouse: native `clickhouse://` (`clickhouse+native://`, `tcp://`) and HTTP(S)
  `http(s)://`, `clickhouse+http(s)://`;
* sqlite: `sqlite:///relative.db`, `sqlite:////absolute.db`, `file:` URIs, bare file paths;
* mongodb: `mongodb://` with one or more hosts, `mongodb+srv://`.

TLS parameters of every engine are normalised into `options["tls"]`: `mode` (one of TLS_MODES,
libpq's names), `ca_cert`, `client_cert`, `client_key_path`, `server_name`; parameters this
module does not interpret are kept verbatim in `options["params"]`, so building gives them back.

Errors are ConnectionStringError(field, reason): the field is the part of the string that is
wrong (`port`, `sslmode`, `scheme`, ...) and the reason a sentence. Neither ever contains any
part of the string itself, so a password can never be echoed in an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

ENGINES = ("postgres", "mysql", "mariadb", "mssql", "clickhouse", "sqlite", "mongodb")
TLS_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SSH_AUTH_METHODS = ("password", "key", "agent")
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "mongodb": 27017}
CLICKHOUSE_PORTS = {("native", False): 9000, ("native", True): 9440, ("http", False): 8123}
CLICKHOUSE_PORTS[("http", True)] = 8443
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3", ".s3db", ".sl3")
MAX_LENGTH = 8192

_SCHEMES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "pgsql": "postgres",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "sqlserver": "mssql",
    "mssql": "mssql",
    "clickhouse": "clickhouse",
    "clickhouses": "clickhouse",
    "ch": "clickhouse",
    "tcp": "clickhouse",
    "http": "clickhouse",
    "https": "clickhouse",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "file": "sqlite",
    "mongodb": "mongodb",
    "mongodb+srv": "mongodb",
}
# Engines that accept each other's connection strings (MariaDB speaks the MySQL protocol;
# CockroachDB and Redshift speak PostgreSQL's).
_COMPATIBLE = {
    "mysql": {"mysql", "mariadb"},
    "mariadb": {"mysql", "mariadb"},
    "cockroachdb": {"postgres"},
    "redshift": {"postgres"},
}
POSTGRES_WIRE = ("postgres", "cockroachdb", "redshift")
_HOST_RE = re.compile(r"[A-Za-z0-9._\-]{1,253}|\[[0-9A-Fa-f:.%A-Za-z]{2,}\]")
_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n"}


class ConnectionStringError(ValueError):
    """`field` names the wrong part; `reason` says what is wrong. Never carries the input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class ParsedConnection:
    """Connection fields as the Connection entity takes them (`password` is a secret)."""

    engine: str
    host: str = ""
    port: int | None = None
    database: str = ""
    username: str = ""
    password: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The wire fields (what ConnectionEntity.validate takes)."""
        data: dict[str, Any] = {
            "engine": self.engine,
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "username": self.username,
            "options": self.options,
        }
        if self.password is not None:
            data["password"] = self.password
        return data

    def __repr__(self) -> str:
        secret = "<redacted>" if self.password is not None else "None"
        return (
            f"ParsedConnection(engine={self.engine!r}, host={self.host!r}, port={self.port!r}, "
            f"database={self.database!r}, username={self.username!r}, password={secret}, "
            f"options={self.options!r})"
        )

    __str__ = __repr__


# --- helpers ----------------------------------------------------------------------------------


def _port(text: str, name: str = "port") -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConnectionStringError(name, "must be a number from 1 to 65535.")
    return int(text)


def _host(text: str) -> str:
    host = unquote(text)
    if host.startswith("/"):
        return host  # a Unix socket directory (postgres)
    if not _HOST_RE.fullmatch(host):
        raise ConnectionStringError(
            "host", "must be a host name, an IPv4 address or an IPv6 address in brackets."
        )
    return host.strip("[]")


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConnectionStringError(name, "must be true or false.")


def _query(text: str) -> dict[str, str]:
    """`a=1&b=2` -> dict, percent-decoded ('+' stays a plus: connection strings are not forms)."""
    params: dict[str, str] = {}
    for item in text.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        key = unquote(key).strip()
        if not key:
            raise ConnectionStringError("query", "has a parameter without a name.")
        params[key] = unquote(value)
    return params


def _encode_query(params: Mapping[str, Any]) -> str:
    parts = [
        f"{quote(str(k), safe='-_.~')}={quote(str(v), safe='-_.~/:,')}" for k, v in params.items()
    ]
    return "?" + "&".join(parts) if parts else ""


def _pop(params: dict[str, str], *names: str) -> str | None:
    """Remove and return the first of `names` present (case-insensitive)."""
    lowered = {key.lower(): key for key in params}
    found = None
    for name in names:
        key = lowered.get(name.lower())
        if key is not None:
            value = params.pop(key)
            found = value if found is None else found
            lowered.pop(name.lower())
    return found


@dataclass
class _Url:
    scheme: str
    username: str
    password: str | None
    hosts: list[tuple[str, int | None]]
    path: str
    params: dict[str, str]


def _split_url(text: str, scheme: str) -> _Url:
    """Split `scheme://[user[:password]@]host[:port][,host[:port]...][/path][?query]`.

    The userinfo ends at the last '@' before the query, so an unencoded '@', ':' or '/' in a
    password still parses; '?' and '#' in a password must be percent-encoded.
    """
    rest = text[len(scheme) + 3 :]
    qmark = rest.find("?")
    head, query = (rest, "") if qmark == -1 else (rest[:qmark], rest[qmark + 1 :])
    at = head.rfind("@")
    userinfo, hostpart = ("", head) if at == -1 else (head[:at], head[at + 1 :])
    username, password = "", None
    if at != -1:
        user_text, colon, password_text = userinfo.partition(":")
        username = unquote(user_text)
        password = unquote(password_text) if colon else None
    slash = hostpart.find("/")
    hostlist, path = (hostpart, "") if slash == -1 else (hostpart[:slash], hostpart[slash + 1 :])
    hosts: list[tuple[str, int | None]] = []
    for item in hostlist.split(",") if hostlist else []:
        if not item:
            raise ConnectionStringError("host", "is empty between commas.")
        if item.startswith("["):
            end = item.find("]")
            if end == -1:
                raise ConnectionStringError("host", "has an unclosed IPv6 bracket.")
            host_text, port_text = item[: end + 1], item[end + 1 :]
            if port_text and not port_text.startswith(":"):
                raise ConnectionStringError("host", "has text after the IPv6 address.")
            port_text = port_text[1:]
        else:
            host_text, _, port_text = item.partition(":")
        port = _port(port_text) if port_text else None
        hosts.append((_host(host_text) if host_text else "", port))
    return _Url(scheme, username, password, hosts, path, _query(query))


def _scheme_of(text: str) -> str | None:
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*)://", text)
    if match:
        return match.group(1).lower()
    if re.match(r"(?i)(sqlite3?|file):", text) and not re.match(r"[A-Za-z]:[\\/]", text):
        return text.split(":", 1)[0].lower()
    return None


def _engine_for_scheme(scheme: str) -> tuple[str, str]:
    """(engine, driver-free scheme); `postgresql+psycopg` -> ("postgres", "postgresql")."""
    if scheme in _SCHEMES:
        return _SCHEMES[scheme], scheme
    if scheme.startswith("clickhouse+"):
        return "clickhouse", scheme
    base = scheme.split("+", 1)[0]
    if base in _SCHEMES and base != "mongodb":
        return _SCHEMES[base], base
    raise ConnectionStringError(
        "scheme",
        "is not one of postgres, mysql, mariadb, sqlserver, clickhouse, sqlite, mongodb "
        "(or their aliases).",
    )


def _tls(options: dict[str, Any]) -> dict[str, Any]:
    tls: dict[str, Any] = options.setdefault("tls", {})
    return tls


def _finish(parsed: ParsedConnection, params: dict[str, str]) -> ParsedConnection:
    if params:
        parsed.options["params"] = params
    if parsed.options.get("tls") == {}:
        parsed.options.pop("tls")
    return parsed


# --- parsing ----------------------------------------------------------------------------------


def parse_connection_string(text: str, *, engine: str | None = None) -> ParsedConnection:
    """Parse a connection URL (or ADO/JDBC string, or SQLite path). `engine` is the engine the
    caller expects: the string must be for it (MariaDB and MySQL accept each other's), and it
    decides ambiguous cases such as a bare file path."""
    if not isinstance(text, str) or not text.strip():
        raise ConnectionStringError("url", "is empty.")
    if len(text) > MAX_LENGTH:
        raise ConnectionStringError("url", f"is longer than {MAX_LENGTH} characters.")
    if any(ord(ch) < 32 for ch in text):
        raise ConnectionStringError("url", "contains control characters.")
    if engine is not None and engine not in ENGINES and engine not in _COMPATIBLE:
        raise ConnectionStringError(
            "engine", "has no connection string format (supported: " + ", ".join(ENGINES) + ")."
        )
    text = text.strip()
    if text.lower().startswith("jdbc:"):
        text = text[5:]
    scheme = _scheme_of(text)
    if scheme is None:
        if engine == "sqlite" or text.lower().endswith(SQLITE_SUFFIXES) or text == ":memory:":
            parsed = _parse_sqlite_path(text, {})
        elif "=" in text and (engine in (None, "mssql")):
            parsed = _parse_ado(text)
        else:
            raise ConnectionStringError(
                "scheme",
                "is missing: start with e.g. postgres://, or give an ADO-style "
                "Server=...; string (SQL Server) or a file path (SQLite).",
            )
    else:
        found, base = _engine_for_scheme(scheme)
        if found == "sqlite":
            parsed = _parse_sqlite_url(text, scheme)
        elif found == "mssql":
            parsed = _parse_mssql_url(text, scheme)
        elif found == "clickhouse":
            parsed = _parse_clickhouse(text, scheme, base)
        elif found == "mongodb":
            parsed = _parse_mongodb(text, scheme)
        elif found == "postgres":
            parsed = _parse_postgres(text, scheme)
        else:
            parsed = _parse_mysql(text, scheme, found)
    if engine is not None and parsed.engine != engine:
        if parsed.engine in _COMPATIBLE.get(engine, set()):
            parsed.engine = engine
        else:
            raise ConnectionStringError(
                "engine", f"is {engine}, but the connection string is for {parsed.engine}."
            )
    return parsed


def _single_host(url: _Url, engine: str) -> tuple[str, int | None]:
    if len(url.hosts) > 1:
        raise ConnectionStringError("host", f"{engine} takes a single host.")
    return url.hosts[0] if url.hosts else ("", None)


def _require_host(host: str, engine: str) -> None:
    if not host:
        raise ConnectionStringError("host", f"is required for {engine}.")


def _parse_postgres(text: str, scheme: str) -> ParsedConnection:
    url = _split_url(text, scheme)
    params = url.params
    parsed = ParsedConnection("postgres", username=url.username, password=url.password)
    hosts = list(url.hosts)
    host_param = _pop(params, "host")
    if host_param:
        port_param = _pop(params, "port")
        names = host_param.split(",")
        ports = port_param.split(",") if port_param else []
        hosts = [
            (_host(name), _port(ports[i]) if i < len(ports) and ports[i] else None)
            for i, name in enumerate(names)
        ]
    elif (port_param := _pop(params, "port")) is not None:
        hosts = [(hosts[0][0] if hosts else "", _port(port_param))]
    if hosts:
        parsed.host, parsed.port = hosts[0]
        if len(hosts) > 1:
            parsed.options["hosts"] = [{"host": h, "port": p} for h, p in hosts]
    parsed.database = unquote(url.path)
    if (dbname := _pop(params, "dbname")) is not None:
        parsed.database = dbname
    if (user := _pop(params, "user")) is not None:
        parsed.username = user
    if (password := _pop(params, "password")) is not None:
        parsed.password = password
    tls = _tls(parsed.options)
    if (mode := _pop(params, "sslmode")) is not None:
        if mode not in TLS_MODES:
            raise ConnectionStringError("sslmode", "must be one of " + ", ".join(TLS_MODES) + ".")
        tls["mode"] = mode
    for name, key in (("sslrootcert", "ca_cert"), ("sslcert", "client_cert")):
        if (value := _pop(params, name)) is not None:
            tls[key] = value
    if (value := _pop(params, "sslkey")) is not None:
        tls["client_key_path"] = value
    return _finish(parsed, params)


_MYSQL_MODES = {
    "disabled": "disable",
    "preferred": "prefer",
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
}


def _parse_mysql(text: str, scheme: str, engine: str) -> ParsedConnection:
    url = _split_url(text, scheme)
    host, port = _single_host(url, engine)
    _require_host(host, engine)
    params = url.params
    parsed = ParsedConnection(
        engine, host=host, port=port, username=url.username, password=url.password
    )
    parsed.database = unquote(url.path)
    tls = _tls(parsed.options)
    mode = _pop(params, "ssl-mode", "sslmode", "ssl_mode")
    if mode is not None:
        key = mode.strip().lower().replace("-", "_")
        if key not in _MYSQL_MODES and key not in TLS_MODES:
            raise ConnectionStringError(
                "ssl-mode",
                "must be one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY.",
            )
        tls["mode"] = _MYSQL_MODES.get(key, key)
    if (ssl := _pop(params, "ssl")) is not None and "mode" not in tls:
        tls["mode"] = "require" if _flag(ssl, "ssl") else "disable"
    if (tls_param := _pop(params, "tls")) is not None and "mode" not in tls:
        lowered = tls_param.strip().lower()
        if lowered == "skip-verify":
            tls["mode"] = "require"
        elif lowered == "preferred":
            tls["mode"] = "prefer"
        else:
            tls["mode"] = "verify-full" if _flag(tls_param, "tls") else "disable"
    for names, key in (
        (("ssl-ca", "ssl_ca", "sslca", "sslrootcert"), "ca_cert"),
        (("ssl-cert", "ssl_cert", "sslcert"), "client_cert"),
        (("ssl-key", "ssl_key", "sslkey"), "client_key_path"),
    ):
        if (value := _pop(params, *names)) is not None:
            tls[key] = value
    return _finish(parsed, params)


def _mssql_tls(parsed: ParsedConnection, params: dict[str, str]) -> None:
    tls = _tls(parsed.options)
    encrypt = _pop(params, "encrypt")
    trust = _pop(params, "trustservercertificate", "trust server certificate")
    server_name = _pop(params, "hostnameincertificate", "host name in certificate")
    trusted = _flag(trust, "trustServerCertificate") if trust is not None else False
    if encrypt is not None:
        lowered = encrypt.strip().lower()
        if lowered == "strict":
            tls["mode"] = "verify-full"
            tls["strict"] = True
        elif lowered in ("mandatory",) or lowered in _TRUE:
            tls["mode"] = "require" if trusted else "verify-full"
        elif lowered in ("optional", "disable") or lowered in _FALSE:
            tls["mode"] = "disable"
        else:
            raise ConnectionStringError(
                "encrypt", "must be true, false, strict, mandatory or optional."
            )
    elif trusted:
        tls["mode"] = "require"
    if server_name is not None:
        tls["server_name"] = server_name


def _mssql_server(parsed: ParsedConnection, server: str) -> None:
    """`tcp:host,1433`, `host\\INSTANCE`, `host:1433`."""
    server = server.strip()
    if server.lower().startswith("tcp:"):
        server = server[4:]
    if "," in server:
        server, _, port_text = server.partition(",")
        parsed.port = _port(port_text.strip())
    if "\\" in server:
        server, _, instance = server.partition("\\")
        parsed.options["instance"] = instance
    elif server.count(":") == 1 and not server.startswith("["):
        server, _, port_text = server.partition(":")
        parsed.port = _port(port_text)
    parsed.host = _host(server) if server else ""


_ADO_KEYS = {
    "server": "server",
    "data source": "server",
    "address": "server",
    "addr": "server",
    "network address": "server",
    "servername": "server",
    "database": "database",
    "initial catalog": "database",
    "databasename": "database",
    "user id": "username",
    "uid": "username",
    "user": "username",
    "username": "username",
    "password": "password",
    "pwd": "password",
    "port": "port",
    "portnumber": "port",
    "instancename": "instance",
}


def _ado_pairs(text: str, what: str) -> list[tuple[str, str]]:
    """Split `key=value;key={va;lue};key="x"` (ODBC/ADO quoting) into pairs."""
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in "; \t":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq == -1:
            raise ConnectionStringError(what, "has an entry that is not of the form key=value.")
        key = text[i:eq].strip().lower()
        if not key:
            raise ConnectionStringError(what, "has an entry without a key.")
        i = eq + 1
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] in "{\"'":
            close = {"{": "}", '"': '"', "'": "'"}[text[i]]
            j = i + 1
            value_chars: list[str] = []
            while True:
                if j >= n:
                    raise ConnectionStringError(key, "has an unterminated quoted value.")
                if text[j] == close:
                    if j + 1 < n and text[j + 1] == close:  # doubled: a literal quote
                        value_chars.append(close)
                        j += 2
                        continue
                    break
                value_chars.append(text[j])
                j += 1
            value = "".join(value_chars)
            i = j + 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] != ";":
                raise ConnectionStringError(key, "has text after its quoted value.")
        else:
            end = text.find(";", i)
            end = n if end == -1 else end
            value = text[i:end].strip()
            i = end
        pairs.append((key, value))
    return pairs


def _apply_mssql_pairs(parsed: ParsedConnection, pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        target = _ADO_KEYS.get(key)
        if target == "server":
            _mssql_server(parsed, value)
        elif target == "database":
            parsed.database = value
        elif target == "username":
            parsed.username = value
        elif target == "password":
            parsed.password = value
        elif target == "port":
            parsed.port = _port(value.strip())
        elif target == "instance":
            parsed.options["instance"] = value
        else:
            params[key] = value
    return params


def _parse_ado(text: str) -> ParsedConnection:
    parsed = ParsedConnection("mssql")
    pairs = _ado_pairs(text, "connection string")
    if not any(_ADO_KEYS.get(key) == "server" for key, _ in pairs):
        raise ConnectionStringError("server", "is missing (Server=host,port;...).")
    params = _apply_mssql_pairs(parsed, pairs)
    # ADO keys are case-insensitive; keep their canonical spellings for the TLS ones.
    _mssql_tls(parsed, params)
    _require_host(parsed.host, "mssql")
    return _finish(parsed, params)


def _parse_mssql_url(text: str, scheme: str) -> ParsedConnection:
    rest = text[len(scheme) + 3 :]
    head = rest.split("?", 1)[0]
    if ";" in head and "@" not in head.split(";", 1)[0]:
        # JDBC style: sqlserver://host[\instance][:port];key=value;...
        server, _, properties = rest.partition(";")
        parsed = ParsedConnection("mssql")
        if server:
            _mssql_server(parsed, unquote(server))
        params = _apply_mssql_pairs(parsed, _ado_pairs(properties, "connection string"))
    else:
        url = _split_url(text, scheme)
        host, port = _single_host(url, "mssql")
        parsed = ParsedConnection(
            "mssql", host=host, port=port, username=url.username, password=url.password
        )
        if url.path:
            parsed.options["instance"] = unquote(url.path.strip("/"))
        params = url.params
        if (database := _pop(params, "database", "databasename", "initial catalog")) is not None:
            parsed.database = database
        if (user := _pop(params, "user id", "user")) is not None:
            parsed.username = user
        if (password := _pop(params, "password")) is not None:
            parsed.password = password
    _mssql_tls(parsed, params)
    _require_host(parsed.host, "mssql")
    return _finish(parsed, params)


def _parse_clickhouse(text: str, scheme: str, base: str) -> ParsedConnection:
    url = _split_url(text, scheme)
    host, port = _single_host(url, "clickhouse")
    _require_host(host, "clickhouse")
    params = url.params
    http = base in ("http", "https", "clickhouse+http", "clickhouse+https")
    secure = base in ("https", "clickhouse+https", "clickhouses")
    parsed = ParsedConnection(
        "clickhouse", host=host, port=port, username=url.username, password=url.password
    )
    parsed.options["protocol"] = "http" if http else "native"
    parsed.database = unquote(url.path.strip("/"))
    if (database := _pop(params, "database")) is not None:
        parsed.database = database
    if (user := _pop(params, "user", "username")) is not None:
        parsed.username = user
    if (password := _pop(params, "password")) is not None:
        parsed.password = password
    explicit = base in ("http", "https", "clickhouse+http", "clickhouse+https", "clickhouses")
    if (secure_param := _pop(params, "secure", "ssl", "tls")) is not None:
        secure = _flag(secure_param, "secure")
        explicit = True
    skip_verify = _pop(params, "skip_verify", "insecure_skip_verify")
    verify = _pop(params, "verify")
    no_verify = (skip_verify is not None and _flag(skip_verify, "skip_verify")) or (
        verify is not None and not _flag(verify, "verify")
    )
    tls = _tls(parsed.options)
    if secure:
        tls["mode"] = "require" if no_verify else "verify-full"
    elif explicit:
        tls["mode"] = "disable"
    for names, key in ((("ca_cert", "ca", "ssl_ca"), "ca_cert"), (("client_cert",), "client_cert")):
        if (value := _pop(params, *names)) is not None:
            tls[key] = value
    return _finish(parsed, params)


def _parse_sqlite_path(path: str, params: dict[str, str]) -> ParsedConnection:
    if not path:
        raise ConnectionStringError("database", "is missing: give the database file's path.")
    parsed = ParsedConnection("sqlite", database=path)
    return _finish(parsed, params)


def _parse_sqlite_url(text: str, scheme: str) -> ParsedConnection:
    body = text[len(scheme) + 1 :]
    path, _, query = body.partition("?")
    params = _query(query)
    if path == ":memory:" or path == "//:memory:":
        return _parse_sqlite_path(":memory:", params)
    if path.startswith("//"):
        authority_and_path = path[2:]
        slash = authority_and_path.find("/")
        authority = authority_and_path if slash == -1 else authority_and_path[:slash]
        if authority and not (scheme == "file" and authority.lower() == "localhost"):
            raise ConnectionStringError(
                "host",
                "SQLite has no host: use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db.",
            )
        path = "" if slash == -1 else authority_and_path[slash:]
        # sqlite:///relative.db -> "relative.db"; sqlite:////abs.db -> "/abs.db";
        # file:///abs.db -> "/abs.db" (a file URI's path is always absolute).
        if scheme != "file" and path.startswith("/"):
            path = path[1:]
        if re.match(r"/[A-Za-z]:[\\/]", path):
            path = path[1:]  # file:///C:/data.db
    return _parse_sqlite_path(unquote(path), params)


def _parse_mongodb(text: str, scheme: str) -> ParsedConnection:
    url = _split_url(text, scheme)
    srv = scheme == "mongodb+srv"
    if not url.hosts or not url.hosts[0][0]:
        raise ConnectionStringError("host", "is required for mongodb.")
    if srv and (len(url.hosts) > 1 or url.hosts[0][1] is not None):
        raise ConnectionStringError("host", "mongodb+srv takes one host name and no port.")
    params = url.params
    parsed = ParsedConnection("mongodb", username=url.username, password=url.password)
    parsed.host, parsed.port = url.hosts[0]
    if len(url.hosts) > 1:
        parsed.options["hosts"] = [{"host": h, "port": p} for h, p in url.hosts]
    if srv:
        parsed.options["srv"] = True
    database = unquote(url.path.rstrip("/"))
    if database and re.search(r"[/\\. \"$]", database):
        raise ConnectionStringError("database", 'must not contain / \\ . space " or $.')
    parsed.database = database
    tls = _tls(parsed.options)
    enabled = _pop(params, "tls", "ssl")
    insecure = any(
        value is not None and _flag(value, name)
        for name, value in (
            ("tlsInsecure", _pop(params, "tlsInsecure")),
            ("tlsAllowInvalidCertificates", _pop(params, "tlsAllowInvalidCertificates")),
            ("tlsAllowInvalidHostnames", _pop(params, "tlsAllowInvalidHostnames")),
        )
    )
    on = _flag(enabled, "tls") if enabled is not None else (srv or None)
    if on is True:
        tls["mode"] = "require" if insecure else "verify-full"
    elif on is False:
        tls["mode"] = "disable"
    for name, key in (("tlsCAFile", "ca_cert"), ("tlsCertificateKeyFile", "client_cert")):
        if (value := _pop(params, name)) is not None:
            tls[key] = value
    return _finish(parsed, params)


# --- building ---------------------------------------------------------------------------------


def _userinfo(username: str, password: str | None) -> str:
    if not username and password is None:
        return ""
    text = quote(username, safe="")
    if password is not None:
        text += ":" + quote(password, safe="")
    return text + "@"


def _hostport(host: str, port: int | None) -> str:
    if host.startswith("/"):
        text = quote(host, safe="")
    elif ":" in host:
        text = f"[{host}]"
    else:
        text = host
    return f"{text}:{port}" if port else text


def _hosts(parsed: ParsedConnection) -> str:
    extra = parsed.options.get("hosts")
    if extra:
        return ",".join(_hostport(h["host"], h.get("port")) for h in extra)
    return _hostport(parsed.host, parsed.port)


def build_connection_url(parsed: ParsedConnection, *, include_password: bool = True) -> str:
    """The connection string for `parsed` (a URL; an ADO string: build_ado_string)."""
    engine = parsed.engine
    options = dict(parsed.options or {})
    tls: dict[str, Any] = dict(options.get("tls") or {})
    params: dict[str, Any] = dict(options.get("params") or {})
    password = parsed.password if include_password else None
    userinfo = _userinfo(parsed.username, password)
    database = quote(parsed.database, safe="")
    mode = tls.get("mode")
    if engine in POSTGRES_WIRE:
        query: dict[str, Any] = {}
        if mode:
            query["sslmode"] = mode
        for key, name in (
            ("ca_cert", "sslrootcert"),
            ("client_cert", "sslcert"),
            ("client_key_path", "sslkey"),
        ):
            if tls.get(key):
                query[name] = tls[key]
        return f"postgres://{userinfo}{_hosts(parsed)}/{database}" + _encode_query(
            {**query, **params}
        )
    if engine in ("mysql", "mariadb"):
        query = {}
        reverse = {v: k.upper() for k, v in _MYSQL_MODES.items()}
        if mode:
            query["ssl-mode"] = reverse.get(mode, "PREFERRED")
        for key, name in (
            ("ca_cert", "ssl-ca"),
            ("client_cert", "ssl-cert"),
            ("client_key_path", "ssl-key"),
        ):
            if tls.get(key):
                query[name] = tls[key]
        return f"{engine}://{userinfo}{_hostport(parsed.host, parsed.port)}/{database}" + (
            _encode_query({**query, **params})
        )
    if engine == "mssql":
        query = {}
        if parsed.database:
            query["database"] = parsed.database
        query.update(_mssql_tls_params(tls))
        instance = options.get("instance")
        path = "/" + quote(instance, safe="") if instance else ""
        return f"sqlserver://{userinfo}{_hostport(parsed.host, parsed.port)}{path}" + (
            _encode_query({**query, **params})
        )
    if engine == "clickhouse":
        http = options.get("protocol") == "http"
        secure = mode not in (None, "disable", "allow", "prefer")
        query = {}
        if http:
            scheme = "https" if secure else "http"
        else:
            scheme = "clickhouse"
            if secure:
                query["secure"] = "true"
            elif mode is not None:
                query["secure"] = "false"
        if secure and mode == "require":
            query["skip_verify"] = "true"
        if tls.get("ca_cert"):
            query["ca_cert"] = tls["ca_cert"]
        if tls.get("client_cert"):
            query["client_cert"] = tls["client_cert"]
        return f"{scheme}://{userinfo}{_hostport(parsed.host, parsed.port)}/{database}" + (
            _encode_query({**query, **params})
        )
    if engine == "sqlite":
        path = parsed.database
        if path == ":memory:":
            return "sqlite::memory:" + _encode_query(params)
        return "sqlite:///" + quote(path, safe="/:\\._-~") + _encode_query(params)
    if engine == "mongodb":
        srv = bool(options.get("srv"))
        query = {}
        if srv:
            if mode == "disable":
                query["tls"] = "false"
            elif mode == "require":
                query["tlsAllowInvalidCertificates"] = "true"
        elif mode == "disable":
            query["tls"] = "false"
        elif mode in ("require", "verify-full", "verify-ca"):
            query["tls"] = "true"
            if mode == "require":
                query["tlsAllowInvalidCertificates"] = "true"
        if tls.get("ca_cert"):
            query["tlsCAFile"] = tls["ca_cert"]
        if tls.get("client_cert"):
            query["tlsCertificateKeyFile"] = tls["client_cert"]
        scheme = "mongodb+srv" if srv else "mongodb"
        hosts = parsed.host if srv else _hosts(parsed)
        return f"{scheme}://{userinfo}{hosts}/{database}" + _encode_query({**query, **params})
    raise ConnectionStringError(
        "engine", "has no connection string format (supported: " + ", ".join(ENGINES) + ")."
    )


def _mssql_tls_params(tls: Mapping[str, Any]) -> dict[str, str]:
    mode = tls.get("mode")
    query: dict[str, str] = {}
    if tls.get("strict"):
        query["encrypt"] = "strict"
    elif mode == "disable":
        query["encrypt"] = "false"
    elif mode == "require":
        query["encrypt"] = "true"
        query["TrustServerCertificate"] = "true"
    elif mode in ("verify-ca", "verify-full"):
        query["encrypt"] = "true"
        query["TrustServerCertificate"] = "false"
    if tls.get("server_name"):
        query["HostNameInCertificate"] = tls["server_name"]
    return query


def _ado_value(value: str) -> str:
    if any(ch in value for ch in ";{}=\"'") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def build_ado_string(parsed: ParsedConnection, *, include_password: bool = True) -> str:
    """An ADO.NET connection string for a SQL Server connection."""
    if parsed.engine != "mssql":
        raise ConnectionStringError("engine", "ADO.NET strings are for mssql only.")
    server = parsed.host
    if parsed.options.get("instance"):
        server += "\\" + parsed.options["instance"]
    if parsed.port:
        server += f",{parsed.port}"
    parts = [("Server", server)]
    if parsed.database:
        parts.append(("Database", parsed.database))
    if parsed.username:
        parts.append(("User Id", parsed.username))
    if include_password and parsed.password is not None:
        parts.append(("Password", parsed.password))
    tls = parsed.options.get("tls") or {}
    for key, value in _mssql_tls_params(tls).items():
        parts.append((key, value))
    for key, value in (parsed.options.get("params") or {}).items():
        parts.append((key, str(value)))
    return "".join(f"{key}={_ado_value(value)};" for key, value in parts)


def from_fields(
    *,
    engine: str,
    host: str = "",
    port: int | None = None,
    database: str = "",
    username: str = "",
    password: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> ParsedConnection:
    return ParsedConnection(
        engine=engine,
        host=host or "",
        port=port,
        database=database or "",
        username=username or "",
        password=password,
        options=dict(options or {}),
    )


# --- options ----------------------------------------------------------------------------------

_OPTION_KEYS = {"tls", "ssh", "params", "hosts", "srv", "protocol", "instance"}
_TLS_KEYS = {"mode", "ca_cert", "client_cert", "client_key_path", "server_name", "strict"}
_SSH_KEYS = {"enabled", "host", "port", "user", "auth_method"}


def validate_options(options: Mapping[str, Any]) -> None:
    """Check the shape of a connection's `options` (TLS and SSH settings, no secrets).

    Raises ConnectionStringError whose field is the option's path (`options.tls.mode`).
    """
    unknown = sorted(set(options) - _OPTION_KEYS)
    if unknown:
        raise ConnectionStringError(f"options.{unknown[0]}", "is not a known option.")
    tls = options.get("tls")
    if tls is not None:
        if not isinstance(tls, dict):
            raise ConnectionStringError("options.tls", "must be an object.")
        bad = sorted(set(tls) - _TLS_KEYS)
        if bad:
            raise ConnectionStringError(f"options.tls.{bad[0]}", "is not a known TLS option.")
        if "mode" in tls and tls["mode"] not in TLS_MODES:
            raise ConnectionStringError(
                "options.tls.mode", "must be one of " + ", ".join(TLS_MODES) + "."
            )
        for key in ("ca_cert", "client_cert", "client_key_path", "server_name"):
            if key in tls and (not isinstance(tls[key], str) or len(tls[key]) > 16384):
                raise ConnectionStringError(
                    f"options.tls.{key}", "must be text of at most 16384 characters."
                )
    ssh = options.get("ssh")
    if ssh is not None:
        if not isinstance(ssh, dict):
            raise ConnectionStringError("options.ssh", "must be an object.")
        bad = sorted(set(ssh) - _SSH_KEYS)
        if bad:
            raise ConnectionStringError(f"options.ssh.{bad[0]}", "is not a known SSH option.")
        if "host" in ssh and (not isinstance(ssh["host"], str) or len(ssh["host"]) > 255):
            raise ConnectionStringError("options.ssh.host", "must be a host name.")
        if "port" in ssh and (
            isinstance(ssh["port"], bool)
            or not isinstance(ssh["port"], int)
            or not 1 <= ssh["port"] <= 65535
        ):
            raise ConnectionStringError("options.ssh.port", "must be a number from 1 to 65535.")
        if "user" in ssh and (not isinstance(ssh["user"], str) or len(ssh["user"]) > 255):
            raise ConnectionStringError("options.ssh.user", "must be text.")
        if "auth_method" in ssh and ssh["auth_method"] not in SSH_AUTH_METHODS:
            raise ConnectionStringError(
                "options.ssh.auth_method", "must be one of " + ", ".join(SSH_AUTH_METHODS) + "."
            )
    params = options.get("params")
    if params is not None and (
        not isinstance(params, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    ):
        raise ConnectionStringError("options.params", "must map names to text values.")
    hosts = options.get("hosts")
    if hosts is not None:
        if not isinstance(hosts, list) or not all(
            isinstance(h, dict) and isinstance(h.get("host"), str) for h in hosts
        ):
            raise ConnectionStringError("options.hosts", "must be a list of {host, port}.")
        for item in hosts:
            port = item.get("port")
            if port is not None and (
                isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
            ):
                raise ConnectionStringError(
                    "options.hosts.port", "must be a number from 1 to 65535."
                )
    if "protocol" in options and options["protocol"] not in ("native", "http"):
        raise ConnectionStringError("options.protocol", "must be native or http.")
    if "srv" in options and not isinstance(options["srv"], bool):
        raise ConnectionStringError("options.srv", "must be true or false.")
    if "instance" in options and not isinstance(options["instance"], str):
        raise ConnectionStringError("options.instance", "must be text.")
