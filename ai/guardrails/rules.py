"""The data behind the guardrail: which engines we know, which statements and functions are not
read-only. Kept apart from the code so a reviewer can audit the lists on their own."""

from __future__ import annotations

from typing import Final, Literal

Kind = Literal["read_only", "write", "ddl", "unknown"]

# Engine names the product uses -> sqlglot dialect. MariaDB shares MySQL's grammar closely enough
# for this purpose, including its executable comments (checked in the lexer).
ENGINE_DIALECTS: Final[dict[str, str]] = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "tsql": "tsql",
    "sqlserver": "tsql",
    "clickhouse": "clickhouse",
    "sqlite": "sqlite",
}

# A statement may be read-only only if it starts with one of these words. EXPLAIN-like words are
# handled separately because their options decide whether the explained statement runs.
READ_LEADERS: Final[frozenset[str]] = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "(", "SHOW"})
EXPLAIN_LEADERS: Final[frozenset[str]] = frozenset({"EXPLAIN", "DESCRIBE", "DESC"})
EXPLAIN_EXECUTING_OPTIONS: Final[frozenset[str]] = frozenset({"ANALYZE", "ANALYSE"})
# Words that start the statement being explained, after EXPLAIN's own options.
STATEMENT_STARTERS: Final[frozenset[str]] = frozenset(
    {
        "SELECT", "WITH", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE",
        "UPSERT", "CREATE", "ALTER", "DROP", "TRUNCATE", "COPY", "EXECUTE", "EXEC", "CALL",
        "DECLARE", "SHOW", "REFRESH", "GRANT", "REVOKE",
    }
)  # fmt: skip

_DATA = "changes table data"
_RUNS_CODE = "runs code the guardrail cannot see (a procedure, a code block or a SQL string)"
_SESSION = "changes session or server settings"
_TRANSACTION = "controls the transaction"
_MAINTENANCE = "is a maintenance command that writes to the database"
_SCHEMA = "changes the schema or permissions"

# Statements recognised by their first word, whatever sqlglot makes of the rest (several of these
# are not parsed at all, or are misparsed: `LISTEN ch` parses as a column alias).
KEYWORD_STATEMENTS: Final[dict[str, tuple[Kind, str]]] = {
    "INSERT": ("write", _DATA),
    "UPDATE": ("write", _DATA),
    "DELETE": ("write", _DATA),
    "MERGE": ("write", _DATA),
    "REPLACE": ("write", _DATA),
    "UPSERT": ("write", _DATA),
    "TRUNCATE": ("write", _DATA),
    "COPY": ("write", "copies data between tables, files or programs"),
    "LOAD": ("write", "loads data, a file or a library into the server"),
    "BULK": ("write", "loads data from a file"),
    "HANDLER": ("write", "opens a low-level table handler"),
    "CALL": ("write", _RUNS_CODE),
    "EXEC": ("write", _RUNS_CODE),
    "EXECUTE": ("write", _RUNS_CODE),
    "DO": ("write", _RUNS_CODE),
    "PREPARE": ("write", "prepares a statement to run later, out of sight of the guardrail"),
    "DEALLOCATE": ("write", _SESSION),
    "SET": ("write", _SESSION),
    "RESET": ("write", _SESSION),
    "DISCARD": ("write", _SESSION),
    "USE": ("write", "switches the current database"),
    "DECLARE": ("write", "declares variables or cursors"),
    "BEGIN": ("write", _TRANSACTION),
    "START": ("write", _TRANSACTION),
    "COMMIT": ("write", _TRANSACTION),
    "END": ("write", _TRANSACTION),
    "ROLLBACK": ("write", _TRANSACTION),
    "ABORT": ("write", _TRANSACTION),
    "SAVEPOINT": ("write", _TRANSACTION),
    "RELEASE": ("write", _TRANSACTION),
    "SAVE": ("write", _TRANSACTION),
    "LISTEN": ("write", "uses the server's notification channels"),
    "UNLISTEN": ("write", "uses the server's notification channels"),
    "NOTIFY": ("write", "uses the server's notification channels"),
    "VACUUM": ("write", _MAINTENANCE),
    "ANALYZE": ("write", _MAINTENANCE),
    "ANALYSE": ("write", _MAINTENANCE),
    "REINDEX": ("write", _MAINTENANCE),
    "CLUSTER": ("write", _MAINTENANCE),
    "CHECKPOINT": ("write", _MAINTENANCE),
    "OPTIMIZE": ("write", _MAINTENANCE),
    "REFRESH": ("write", _MAINTENANCE),
    "FLUSH": ("write", _MAINTENANCE),
    "PURGE": ("write", _MAINTENANCE),
    "DBCC": ("write", _MAINTENANCE),
    "LOCK": ("write", "takes table locks"),
    "UNLOCK": ("write", "releases table locks"),
    "KILL": ("write", "stops another session or query"),
    "SYSTEM": ("write", "controls the server (ClickHouse SYSTEM)"),
    "SHUTDOWN": ("write", "stops the server"),
    "RECONFIGURE": ("write", _SESSION),
    "BACKUP": ("write", "writes a backup"),
    "RESTORE": ("write", "restores a backup"),
    "WAITFOR": ("write", "pauses the session (WAITFOR)"),
    "ATTACH": ("write", "attaches a database or table"),
    "DETACH": ("write", "detaches a database or table"),
    "INSTALL": ("write", "installs a server plugin or component"),
    "UNINSTALL": ("write", "removes a server plugin or component"),
    "CHANGE": ("write", "changes replication settings"),
    "CREATE": ("ddl", _SCHEMA),
    "ALTER": ("ddl", _SCHEMA),
    "DROP": ("ddl", _SCHEMA),
    "RENAME": ("ddl", _SCHEMA),
    "COMMENT": ("ddl", _SCHEMA),
    "GRANT": ("ddl", _SCHEMA),
    "REVOKE": ("ddl", _SCHEMA),
    "DENY": ("ddl", _SCHEMA),
    "SECURITY": ("ddl", _SCHEMA),
    "UNDROP": ("ddl", _SCHEMA),
    "EXCHANGE": ("ddl", _SCHEMA),
}

# Functions with side effects (sleeping, locking, sequences, files, other servers, sessions).
# Checked in every dialect: a false alarm only asks the user for approval, a miss runs unasked.
# Compared in lower case, schema qualification ignored (pg_catalog.pg_sleep is pg_sleep).
SIDE_EFFECT_FUNCTIONS: Final[frozenset[str]] = frozenset(
    {
        # PostgreSQL
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
        "set_config", "pg_stat_file", "nextval", "setval", "txid_current", "pg_current_xact_id",
        "pg_notify", "pg_switch_wal", "pg_switch_xlog", "pg_promote", "pg_logical_emit_message",
        "pg_import_system_collations", "pg_log_backend_memory_contexts", "pg_backup_start",
        "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause",
        "pg_wal_replay_resume", "pg_export_snapshot", "pg_drop_replication_slot",
        "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
        "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "cursor_to_xml",
        # PostgreSQL extensions common on hosted servers: pgsql-http (network), pg_cron (runs SQL
        # later), RDS/Aurora aws_s3 and aws_lambda (network)
        "http", "schedule", "schedule_in_database", "unschedule", "alter_job",
        "query_export_to_s3", "table_import_from_s3", "invoke",
        # MySQL / MariaDB
        "sleep", "benchmark", "load_file", "get_lock", "release_lock", "release_all_locks",
        "master_pos_wait", "source_pos_wait", "wait_for_executed_gtid_set",
        "wait_until_sql_thread_after_gtids",
        # SQL Server (the fn_ ones read files on the server)
        "openrowset", "opendatasource", "openquery", "fn_get_audit_file",
        "fn_xe_file_target_read_file", "fn_trace_gettable",
        # ClickHouse table functions that reach files, other servers or programs
        "file", "url", "s3", "s3cluster", "remote", "remotesecure", "mysql", "postgresql", "jdbc",
        "odbc", "hdfs", "hdfscluster", "executable", "input", "urlcluster", "filecluster",
        "azureblobstorage", "azureblobstoragecluster", "gcs", "mongodb", "redis", "sqlite", "hive",
        "sleepeachrow",
        # Well-known command-execution UDFs (lib_mysqludf_sys); Aurora MySQL Lambda calls
        "sys_exec", "sys_eval", "lambda_sync", "lambda_async",
        # SQLite (load_extension; readfile/writefile/edit come from the sqlite3 shell)
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "fsdir", "zipfile",
    }
)  # fmt: skip

SIDE_EFFECT_FUNCTION_PREFIXES: Final[tuple[str, ...]] = (
    "pg_sleep",  # pg_sleep, pg_sleep_for, pg_sleep_until
    "dblink",  # dblink, dblink_exec, dblink_connect, ...
    "pg_advisory",  # pg_advisory_lock, pg_advisory_xact_lock_shared, pg_advisory_unlock, ...
    "pg_try_advisory",
    "lo_",  # large objects: lo_import, lo_export, lo_unlink, lo_create, ...
    "pg_read_",  # pg_read_file, pg_read_binary_file
    "pg_ls_",  # pg_ls_dir, pg_ls_logdir, pg_ls_waldir, ...
    "pg_file_",  # adminpack: pg_file_write, pg_file_unlink, ...
    "pg_stat_reset",
    "pg_create_",  # replication slots, restore points
    "pg_replication_origin",
    "query_to_xml",  # runs the query string it is given
    "xp_",  # SQL Server extended procedures: xp_cmdshell, xp_dirtree, ...
    "sp_",  # SQL Server system procedures
    "http_",  # pgsql-http: http_get, http_post, ...
    "pg_background",  # runs SQL in a background worker
    "iceberg",  # ClickHouse data-lake table functions reading object stores
    "deltalake",
    "hudi",
    "paimon",
)

# SQLite PRAGMAs that only report. With no argument these names only read a setting; the ones in
# the second set also take an argument (a table or index name) and still only read.
SQLITE_READ_PRAGMAS: Final[frozenset[str]] = frozenset(
    {
        "application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size",
        "cache_spill", "cell_size_check", "checkpoint_fullfsync", "collation_list",
        "compile_options", "data_version", "database_list", "defer_foreign_keys", "encoding",
        "foreign_key_check", "foreign_key_list", "foreign_keys", "freelist_count", "fullfsync",
        "function_list", "hard_heap_limit", "ignore_check_constraints", "index_info",
        "index_list", "index_xinfo", "integrity_check", "journal_mode", "journal_size_limit",
        "legacy_alter_table", "locking_mode", "max_page_count", "mmap_size", "module_list",
        "page_count", "page_size", "pragma_list", "query_only", "quick_check", "read_uncommitted",
        "recursive_triggers", "reverse_unordered_selects", "schema_version", "secure_delete",
        "soft_heap_limit", "synchronous", "table_info", "table_list", "table_xinfo", "temp_store",
        "threads", "trusted_schema", "user_version", "wal_autocheckpoint",
    }
)  # fmt: skip
SQLITE_READ_PRAGMAS_WITH_ARGUMENT: Final[frozenset[str]] = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    }
)  # fmt: skip

# SQL Server needs no semicolon between statements, and sqlglot accepts these reserved words as
# bare aliases: `SELECT 1 SHUTDOWN` is one SELECT to sqlglot and two statements to SQL Server.
# SQL Server never accepts them unquoted as names, so refusing them costs no valid query.
TSQL_STATEMENT_WORDS: Final[frozenset[str]] = frozenset(
    {
        "ALTER", "BACKUP", "BEGIN", "BREAK", "BULK", "CHECKPOINT", "CLOSE", "COMMIT", "CONTINUE",
        "CREATE", "DBCC", "DEALLOCATE", "DECLARE", "DELETE", "DENY", "DROP", "DUMP", "END",
        "EXEC", "EXECUTE", "FETCH", "GO", "GOTO", "GRANT", "IF", "INSERT", "KILL", "LOAD", "MERGE",
        "OPEN", "PRINT", "RAISERROR", "READTEXT", "RECONFIGURE", "RESTORE", "RETURN", "REVERT",
        "REVOKE", "ROLLBACK", "SAVE", "SELECT", "SET", "SETUSER", "SHUTDOWN", "TRUNCATE",
        "UPDATE", "UPDATETEXT", "USE", "WAITFOR", "WHILE", "WITH", "WRITETEXT",
    }
)  # fmt: skip

# Words that never belong in a read-only statement, checked on the tokens because sqlglot does not
# parse the statements they appear in (MySQL `SELECT ... INTO OUTFILE`, T-SQL `WAITFOR DELAY`).
FORBIDDEN_WORDS: Final[dict[str, dict[str, str]]] = {
    "mysql": {
        "OUTFILE": "INTO OUTFILE writes a file on the server",
        "DUMPFILE": "INTO DUMPFILE writes a file on the server",
    },
    "clickhouse": {"OUTFILE": "INTO OUTFILE writes a file"},
    "tsql": {"WAITFOR": "WAITFOR pauses the session"},
}
