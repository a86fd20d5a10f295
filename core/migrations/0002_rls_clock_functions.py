from django.db import migrations

from core.tenancy.operations import TenantRLS

RESERVE = """
CREATE OR REPLACE FUNCTION core_reserve_versions(ws uuid, n integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  cur bigint := pg_current_xact_id()::text::bigint;
  first_version bigint;
BEGIN
  IF n < 1 THEN
    RAISE EXCEPTION 'reserve at least one version';
  END IF;
  INSERT INTO core_workspaceclock AS c
         (workspace_id, version, reserved_from, last_txid, horizon, updated_at)
  VALUES (ws, n, 1, cur, 0, now())
  ON CONFLICT (workspace_id) DO UPDATE
     SET version = c.version + n,
         reserved_from = CASE WHEN c.last_txid = cur THEN c.reserved_from ELSE c.version + 1 END,
         last_txid = cur,
         updated_at = now()
  RETURNING c.version - n + 1 INTO first_version;
  RETURN first_version;
END $$;
"""

GUARD = """
CREATE OR REPLACE FUNCTION core_sync_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  c core_workspaceclock%ROWTYPE;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.version = OLD.version
     AND coalesce(current_setting('app.maintenance', true), '') = 'reencrypt' THEN
    RETURN NEW;  -- re-encryption under a new data key: same content, same version
  END IF;
  SELECT * INTO c FROM core_workspaceclock WHERE workspace_id = NEW.workspace_id;
  IF NOT FOUND OR c.last_txid <> pg_current_xact_id()::text::bigint
     OR NEW.version < c.reserved_from OR NEW.version > c.version THEN
    RAISE EXCEPTION 'write to % skipped the sync versioning path', TG_TABLE_NAME
      USING ERRCODE = 'P0001', HINT = 'Write through core.versioning.VersionClock.';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.version <= OLD.version THEN
    RAISE EXCEPTION 'write to % did not advance the row version', TG_TABLE_NAME
      USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        TenantRLS("core_workspaceclock"),
        TenantRLS("core_workspacedatakey"),
        migrations.RunSQL(RESERVE, "DROP FUNCTION IF EXISTS core_reserve_versions(uuid, integer)"),
        migrations.RunSQL(GUARD, "DROP FUNCTION IF EXISTS core_sync_guard()"),
    ]
