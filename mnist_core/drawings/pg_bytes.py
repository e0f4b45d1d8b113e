"""The bytes the data takes in a PostgreSQL drawings database, kept as it changes: what the byte cap counts.

Counting them from the rows inside every adding transaction would read every table each time, while every
write waits on that transaction's lock. So a trigger on each of the app's tables adds what a
statement inserted and takes off what it deleted, in the same transaction, into a one-row table: reading the
total is one row. A row counts its values' own lengths (text and bytes as they are, not as PostgreSQL compresses
them, so what an insert adds its delete takes off exactly; about what SQLite's pages hold) plus ROW_BYTES. The
files keep deleted rows' space for new rows (VACUUM marks it free), so they are not what is counted. After a
migration changed the tables, every table's trigger is made again for its columns and the total counted anew.
"""

from __future__ import annotations

from collections.abc import Sequence

from mnist_core.drawings.engine import Connection

TABLE = "app_bytes"  # the one-row total; the engine's own bookkeeping, never copied by `migrate`
ROW_BYTES = 28  # what a row costs beyond its values: tuple header and line pointer
VARIABLE = ("text", "bytea", "character varying")  # counted by their length; other types by their fixed size
TRIGGERS = (  # (name, event, transition tables): each table's three, one function for all
    ("app_bytes_insert", "INSERT", "NEW TABLE AS new_rows"),
    ("app_bytes_delete", "DELETE", "OLD TABLE AS old_rows"),
    ("app_bytes_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
)


def quoted(identifier: str) -> str:
    """A table or column name from the catalog, quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def row_size(columns: Sequence[tuple[str, str]]) -> str:
    """SQL for the bytes of the rows `r` of a table with these (column, data type) pairs, summed."""
    parts = [
        f"coalesce({'octet_length' if kind in VARIABLE else 'pg_column_size'}(r.{quoted(name)}), 0)"
        for name, kind in columns
    ]
    return f"coalesce(sum({' + '.join(parts) or '0'}), 0) + count(*) * {ROW_BYTES}"


def _function(table: str, size: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {quoted("app_bytes_" + table)}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN UPDATE {TABLE} SET bytes = bytes + (SELECT {size} FROM new_rows r);
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN UPDATE {TABLE} SET bytes = bytes - (SELECT {size} FROM old_rows r);
        END IF;
        RETURN NULL;
    END $$"""


def counted(conn: Connection, tables: Sequence[str], changed: bool) -> None:
    """Inside the migrating transaction: the total, and on every table its trigger, made for its columns and the
    total counted from the rows when the tables changed or the total is new."""
    fresh = conn.execute("SELECT to_regclass(?) IS NULL", (TABLE,)).fetchone()[0]
    if not (fresh or changed):
        return
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (one INTEGER PRIMARY KEY CHECK (one = 1), bytes BIGINT)")
    columns: dict[str, list[tuple[str, str]]] = {table: [] for table in tables}
    for table, name, kind in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        if table in columns:
            columns[table].append((name, kind))
    total = []
    for table, pairs in columns.items():
        size = row_size(pairs)
        conn.execute(_function(table, size))
        for trigger, event, transition in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {quoted(table)}")
            conn.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} ON {quoted(table)} REFERENCING {transition} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {quoted('app_bytes_' + table)}()"
            )
        total.append(f"(SELECT {size} FROM {quoted(table)} r)")
    conn.execute(
        f"INSERT INTO {TABLE} (one, bytes) VALUES (1, {' + '.join(total) or '0'}) "
        "ON CONFLICT (one) DO UPDATE SET bytes = excluded.bytes"
    )


def used(conn: Connection) -> int:
    found = conn.execute(f"SELECT bytes FROM {TABLE}").fetchone()
    return int(found[0]) if found else 0
