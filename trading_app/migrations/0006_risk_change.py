"""RiskChange, and the triggers that fill it: the risk gate's change detector.

Every insert, update or delete of a RiskLimits row, every change of an Account's halted flag or
reason and every write to the ExchangeStatus row adds a row, whoever made it (API, admin, a
queryset.update() in a shell or a test). The matching workers read the rows newer than the last
they saw once per batch and re-read only those accounts.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

CHANGES = "trading_app_riskchange"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION trading_app_note_account_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {CHANGES} (account_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER trading_app_account_risk_change
    AFTER UPDATE OF halted, halted_reason ON trading_app_account FOR EACH ROW
    WHEN (OLD.halted IS DISTINCT FROM NEW.halted OR OLD.halted_reason IS DISTINCT FROM NEW.halted_reason)
    EXECUTE FUNCTION trading_app_note_account_risk();

CREATE OR REPLACE FUNCTION trading_app_note_limits_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {CHANGES} (account_id) VALUES (OLD.account_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO {CHANGES} (account_id) VALUES (NEW.account_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER trading_app_risklimits_risk_change
    AFTER INSERT OR UPDATE OR DELETE ON trading_app_risklimits FOR EACH ROW
    EXECUTE FUNCTION trading_app_note_limits_risk();

CREATE OR REPLACE FUNCTION trading_app_note_everything_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {CHANGES} (account_id) VALUES (NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER trading_app_exchangestatus_risk_change
    AFTER INSERT OR UPDATE OR DELETE ON trading_app_exchangestatus FOR EACH STATEMENT
    EXECUTE FUNCTION trading_app_note_everything_risk();
CREATE TRIGGER trading_app_risklimits_truncate_risk_change
    AFTER TRUNCATE ON trading_app_risklimits FOR EACH STATEMENT
    EXECUTE FUNCTION trading_app_note_everything_risk();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS trading_app_account_risk_change ON trading_app_account;
DROP TRIGGER IF EXISTS trading_app_risklimits_risk_change ON trading_app_risklimits;
DROP TRIGGER IF EXISTS trading_app_risklimits_truncate_risk_change ON trading_app_risklimits;
DROP TRIGGER IF EXISTS trading_app_exchangestatus_risk_change ON trading_app_exchangestatus;
DROP FUNCTION IF EXISTS trading_app_note_account_risk();
DROP FUNCTION IF EXISTS trading_app_note_limits_risk();
DROP FUNCTION IF EXISTS trading_app_note_everything_risk();
"""

SQLITE = [
    f"""CREATE TRIGGER trading_app_account_risk_change
    AFTER UPDATE OF halted, halted_reason ON trading_app_account FOR EACH ROW
    WHEN OLD.halted IS NOT NEW.halted OR OLD.halted_reason IS NOT NEW.halted_reason
    BEGIN INSERT INTO {CHANGES} (account_id) VALUES (NEW.id); END""",
    f"""CREATE TRIGGER trading_app_risklimits_insert_risk_change
    AFTER INSERT ON trading_app_risklimits FOR EACH ROW
    BEGIN INSERT INTO {CHANGES} (account_id) VALUES (NEW.account_id); END""",
    f"""CREATE TRIGGER trading_app_risklimits_update_risk_change
    AFTER UPDATE ON trading_app_risklimits FOR EACH ROW
    BEGIN
        INSERT INTO {CHANGES} (account_id) VALUES (OLD.account_id);
        INSERT INTO {CHANGES} (account_id) VALUES (NEW.account_id);
    END""",
    f"""CREATE TRIGGER trading_app_risklimits_delete_risk_change
    AFTER DELETE ON trading_app_risklimits FOR EACH ROW
    BEGIN INSERT INTO {CHANGES} (account_id) VALUES (OLD.account_id); END""",
]
SQLITE += [
    f"""CREATE TRIGGER trading_app_exchangestatus_{op.lower()}_risk_change
    AFTER {op} ON trading_app_exchangestatus FOR EACH ROW
    BEGIN INSERT INTO {CHANGES} (account_id) VALUES (NULL); END"""
    for op in ("INSERT", "UPDATE", "DELETE")
]
SQLITE_TRIGGERS = [
    "trading_app_account_risk_change",
    "trading_app_risklimits_insert_risk_change",
    "trading_app_risklimits_update_risk_change",
    "trading_app_risklimits_delete_risk_change",
    "trading_app_exchangestatus_insert_risk_change",
    "trading_app_exchangestatus_update_risk_change",
    "trading_app_exchangestatus_delete_risk_change",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
    else:  # pragma: no cover - the project runs on PostgreSQL or SQLite
        raise RuntimeError(f"no risk-change triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("trading_app", "0005_worker_write_path"),
    ]

    operations = [
        migrations.CreateModel(
            name="RiskChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("account_id", models.BigIntegerField(blank=True, null=True)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
