"""The base of our management commands that need the database's tables.

A command run before `migrate` (or against a database that is down) should say what to do, not
end in a "no such table" traceback from the first query deep inside a service.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations `migrate` would apply to the database, as "app.name"."""
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def ensure_migrated(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError naming the fix if the database is unreachable or not migrated."""
    try:
        missing = unapplied_migrations(alias)
    except DatabaseError as exc:
        raise CommandError(f"Cannot use the database ({_where(alias)}): {exc}".strip()) from exc
    if missing:
        raise _not_migrated(alias, missing)


def _where(alias: str) -> str:
    settings = connections[alias].settings_dict
    return str(settings.get("HOST") or settings.get("NAME"))


def _not_migrated(alias: str, missing: list[str]) -> CommandError:
    return CommandError(
        f"The database ({_where(alias)}) is not migrated: {len(missing)} migration(s) to apply, "
        f"first {missing[0]}. Run `python manage.py migrate` (`make run` does it)."
    )


class MigratedDatabaseCommand(BaseCommand):
    """A BaseCommand that says "run migrate" when the schema is missing (not for --help).

    `migrations_checked_first`: a long-running command checks before it starts anything (its
    first query may run in a thread whose error would never reach here). A short one runs as
    usual, its own argument errors first, and only if a query fails asks whether missing
    migrations are why.
    """

    migrations_checked_first = True

    def execute(self, *args: Any, **options: Any) -> Any:
        if self.migrations_checked_first:
            ensure_migrated()
            return super().execute(*args, **options)
        try:
            return super().execute(*args, **options)
        except DatabaseError as exc:
            try:
                missing = unapplied_migrations()
            except DatabaseError:  # not even that query runs: the database itself is the trouble
                where = _where(DEFAULT_DB_ALIAS)
                raise CommandError(f"Cannot use the database ({where}): {exc}".strip()) from exc
            if missing:
                raise _not_migrated(DEFAULT_DB_ALIAS, missing) from exc
            raise
