"""published_count: the PUBLISHED articles of each list's scope, kept by the writes

Revision ID: 0018
Revises: 0017

A public totalCount counted every visible article of its list at every read. These counters hold the
PUBLISHED articles (whatever their published_at) per kind and key: 'all' (key ''), 'language' (the compared
form, lower case), 'category' (direct; a subtree's is the sum over its ids), 'author', 'source' and
'source:<ROLE>' (an article once however often it cites the source), 'tag' (the tag's slug, an article once
however many of its names share it). The read subtracts the few PUBLISHED articles still ahead of their
time (`cms.content.counts`), so a scheduled instant needs no job.

Triggers keep them, in the transaction of any write (the API, imports, scheduled events, hand-written SQL):
one delta statement per change, summed per counter. SQLite's fire per row and upsert the counters at once;
PostgreSQL's fire per statement, with transition tables, and queue their deltas for one fold at commit
(`_postgresql_triggers`). An article's links are counted before it is deleted (a BEFORE DELETE trigger,
per row on both): the cascade deletes them after the article, when their own triggers no longer see it
published. A TRUNCATE recounts.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "'PUBLISHED'"
LINKS = {
    "article_author": ("author_id",),
    "article_source": ("source_id", "role"),
    "article_tag": ("slug",),
}
"""The link tables and the columns of theirs that the counters read, beside article_id."""
COUNTED_LINKS = (
    ("article_author", "'author'", "author_id", ("author_id",)),
    ("article_source", "'source'", "source_id", ("source_id",)),
    ("article_source", "'source:' || role", "source_id", ("source_id", "role")),
    ("article_tag", "'tag'", "slug", ("slug",)),
)
"""(table, kind, key, the columns that make an article's link one: counted once per article)."""
EVENTS = ("INSERT", "UPDATE", "DELETE")


PENDING = "'cms.published_count_pending'"


def _summed(deltas: str) -> str:
    """(kind, key, n) rows summed per counter, those that change one: an upsert may touch a row once. SQLite
    reads `ON CONFLICT` after a SELECT as a join's unless the SELECT has a WHERE."""
    return f"SELECT kind, key, sum(n) FROM ({deltas}) d WHERE true GROUP BY kind, key HAVING sum(n) <> 0"


def _upsert(deltas: str) -> str:
    return (
        f"INSERT INTO published_count (kind, key, n) {_summed(deltas)} "
        "ON CONFLICT (kind, key) DO UPDATE SET n = published_count.n + excluded.n"
    )


def _queued(deltas: str) -> str:
    """PostgreSQL: the deltas queued for the commit's fold (`_postgresql_triggers`)."""
    return (
        f"INSERT INTO published_count_delta (kind, key, n) {_summed(deltas)}; "
        f"IF FOUND THEN PERFORM set_config({PENDING}, 'on', true); END IF"
    )


def _article_deltas(changed: str, linked: bool = True) -> str:
    """The counters' deltas for `changed`: (sign, id, language, category_id) rows of PUBLISHED articles, -1
    as they were, +1 as they are. An article's links count with it (its status is theirs); a new one has
    none yet (`linked` False: their rows name it)."""
    rows = [
        f"SELECT 'all' AS kind, '' AS key, c.sign AS n FROM {changed} c",
        f"SELECT 'language', lower(c.language), c.sign FROM {changed} c",
        f"SELECT 'category', c.category_id, c.sign FROM {changed} c WHERE c.category_id IS NOT NULL",
    ]
    for table, kind, key, columns in COUNTED_LINKS if linked else ():
        distinct = ", ".join(f"l.{name}" for name in columns)
        rows.append(
            f"SELECT {kind}, {key}, sign FROM (SELECT DISTINCT c.sign, c.id, {distinct} FROM {changed} c "
            f"JOIN {table} l ON l.article_id = c.id) s"
        )
    return " UNION ALL ".join(rows)


def _link_deltas(table: str, new: str, old: str) -> str:
    """The counters' deltas for a change of `table`'s rows (`new`: as they are, `old`: as they were) whose
    article is PUBLISHED: a link counts when the article has one such row at least, before and after. The
    probes name the article alone, by id, so that no index of another column can serve them (a plan made
    while the tables were small would then walk a source's or a tag's every row)."""
    rows = []
    for counted, kind, key, columns in COUNTED_LINKS:
        if counted != table:
            continue
        names = ", ".join(("article_id", *columns))
        same = " AND ".join(f"t.{name} = g.{name}" for name in columns)
        changes = (
            f"SELECT {names}, 1 AS added, 0 AS removed FROM {new} r "
            f"UNION ALL SELECT {names}, 0, 1 FROM {old} r"
        )
        grouped = f"SELECT {names}, sum(added) AS added, sum(removed) AS removed FROM ({changes}) r"
        probe = f"SELECT count(*) FILTER (WHERE {same}) FROM {table} t WHERE t.article_id = g.article_id"
        present = (
            f"SELECT g.*, ({probe}) AS present FROM ({grouped} GROUP BY {names}) g "
            f"WHERE (SELECT a.status FROM article a WHERE a.id = g.article_id) = {PUBLISHED}"
        )
        rows.append(
            f"SELECT {kind} AS kind, {key} AS key, "
            "(CASE WHEN present > 0 THEN 1 ELSE 0 END) "
            f"- (CASE WHEN present - added + removed > 0 THEN 1 ELSE 0 END) AS n FROM ({present}) p"
        )
    return " UNION ALL ".join(rows)


def _row(record: str, columns: Sequence[str], sign: str | None = None) -> str:
    """A trigger's OLD or NEW row as a SELECT; with a sign, the article's, if it is PUBLISHED."""
    selected = ", ".join(f"{record}.{name} AS {name}" for name in columns)
    if sign is None:
        return f"SELECT {selected}"
    return f"SELECT {sign} AS sign, {selected} WHERE {record}.status = {PUBLISHED}"


ARTICLE_COLUMNS = ("id", "language", "category_id")


def _rows(relation: str, sign: str) -> str:
    return f"SELECT {sign} AS sign, {', '.join(ARTICLE_COLUMNS)} FROM {relation} WHERE status = {PUBLISHED}"


OLD_ARTICLE, NEW_ARTICLE = _row("OLD", ARTICLE_COLUMNS, "-1"), _row("NEW", ARTICLE_COLUMNS, "1")
BACKFILL = _upsert(_article_deltas(f"({_rows('article', '1')})"))
TABLES = ("article", *LINKS)


def upgrade() -> None:
    op.execute(
        "CREATE TABLE published_count (kind VARCHAR(30) NOT NULL, key VARCHAR(200) NOT NULL, "
        "n BIGINT NOT NULL, PRIMARY KEY (kind, key))"
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    """Per row, upserting the counters at once (SQLite updates a row in place): an article's insert, its
    update of what is counted, its delete (before: its links are still there); a link's every change."""
    moved = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in ("status", *ARTICLE_COLUMNS))
    deltas = _article_deltas(f"({OLD_ARTICLE} UNION ALL {NEW_ARTICLE})")
    op.execute(
        "CREATE TRIGGER article_insert_published_count AFTER INSERT ON article "
        f"WHEN NEW.status = {PUBLISHED} BEGIN {_upsert(_article_deltas(f'({NEW_ARTICLE})', False))}; END"
    )
    op.execute(
        f"CREATE TRIGGER article_update_published_count AFTER UPDATE OF status, {', '.join(ARTICLE_COLUMNS)} "
        f"ON article WHEN ({moved}) AND {PUBLISHED} IN (OLD.status, NEW.status) BEGIN {_upsert(deltas)}; END"
    )
    op.execute(
        "CREATE TRIGGER article_delete_published_count BEFORE DELETE ON article "
        f"WHEN OLD.status = {PUBLISHED} BEGIN {_upsert(_article_deltas(f'({OLD_ARTICLE})'))}; END"
    )
    for table, columns in LINKS.items():
        pair = ("article_id", *columns)
        new, old = f"({_row('NEW', pair)})", f"({_row('OLD', pair)})"
        empty = f"(SELECT {', '.join(f'NULL AS {name}' for name in pair)} WHERE false)"
        for event, added, removed in (("INSERT", new, empty), ("UPDATE", new, old), ("DELETE", empty, old)):
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_published_count AFTER {event} ON {table} "
                f"BEGIN {_upsert(_link_deltas(table, added, removed))}; END"
            )


def _postgresql_triggers() -> None:
    """Per statement, with transition tables (a trigger with them has one event); an article's delete per
    row, before. Each queues its deltas, and a deferred trigger folds them into the counters once, at
    commit: an UPDATE of a row keeps its earlier versions in a transaction, and each later one walks them
    (0017), so upserting the few counters an import touches at every article's statement (asyncpg's
    executemany is a statement per row) would cost the square of its articles. A TRUNCATE recounts."""

    def function(name: str, body: str, returns: str = "NULL", probes: bool = True) -> None:
        """A trigger function; `probes`: its statements look rows up by key. A session keeps the plans it
        made first, which on tables still small (an import into a new database) scan them: no scan then."""
        settings = " SET enable_seqscan = off" if probes else ""
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql{settings} AS "
            f"$$ BEGIN {body}; RETURN {returns}; END $$"
        )

    op.execute(
        "CREATE UNLOGGED TABLE published_count_delta "
        "(kind VARCHAR(30) NOT NULL, key VARCHAR(200) NOT NULL, n BIGINT NOT NULL)"
    )
    function(
        "published_count_fold",
        f"IF current_setting({PENDING}, true) = 'on' THEN "
        "WITH queued AS (DELETE FROM published_count_delta RETURNING kind, key, n) "
        f"{_upsert('SELECT kind, key, n FROM queued')}; PERFORM set_config({PENDING}, 'off', true); END IF",
        probes=False,
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER published_count_fold AFTER INSERT ON published_count_delta "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION published_count_fold()"
    )
    recount = f"DELETE FROM published_count_delta; DELETE FROM published_count; {BACKFILL}"
    function("published_count_recount", recount, probes=False)
    function("article_insert_published_count", _queued(_article_deltas(f"({_rows('new_rows', '1')})", False)))
    function(
        "article_update_published_count",
        _queued(_article_deltas(f"({_rows('old_rows', '-1')} UNION ALL {_rows('new_rows', '1')})")),
    )
    function("article_delete_published_count", _queued(_article_deltas(f"({OLD_ARTICLE})")), "OLD")
    for event, transition in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        name = f"article_{event.lower()}_published_count"
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON article REFERENCING {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(
        "CREATE TRIGGER article_delete_published_count BEFORE DELETE ON article FOR EACH ROW "
        "EXECUTE FUNCTION article_delete_published_count()"
    )
    for table, columns in LINKS.items():
        names = ", ".join(("article_id", *columns))
        shapes = {
            "INSERT": ("NEW TABLE AS new_rows", "new_rows", f"(SELECT {names} FROM new_rows WHERE false)"),
            "UPDATE": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", "new_rows", "old_rows"),
            "DELETE": ("OLD TABLE AS old_rows", f"(SELECT {names} FROM old_rows WHERE false)", "old_rows"),
        }
        for event, (transition, new, old) in shapes.items():
            name = f"{table}_{event.lower()}_published_count"
            function(name, _queued(_link_deltas(table, new, old)))
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_truncate_published_count AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION published_count_recount()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for event in EVENTS if sqlite else (*EVENTS, "TRUNCATE"):
            name = f"{table}_{event.lower()}_published_count"
            op.execute(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON {table}")
            if not sqlite and event != "TRUNCATE":
                op.execute(f"DROP FUNCTION {name}()")
    if not sqlite:
        op.execute("DROP TABLE published_count_delta")
        op.execute("DROP FUNCTION published_count_fold()")
        op.execute("DROP FUNCTION published_count_recount()")
    op.execute("DROP TABLE published_count")
