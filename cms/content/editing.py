"""Writing articles: validate, resolve references, derive, and record a revision and a change event.

Everything that writes articles goes through `write_articles`, in the caller's transaction. It costs a few
statements per batch of CHUNK articles whatever their number, so an editor's one change and an import of
50,000 articles take the same path. Unchanged content (the same content hash) writes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes, corrections, outbox, previous_slugs
from cms.content.batches import batched
from cms.content.directory import Directory
from cms.content.documents import (
    Document,
    article_document,
    attribution,
    content_hash,
    correction,
    dumps,
)
from cms.content.errors import BadInput, DomainError, FieldError, InvalidInput, InvalidRecord
from cms.content.forms import nul_errors, web_url
from cms.content.ids import id_problem, new_id
from cms.content.markdown import RenderedBody, RenderMany, render_here
from cms.content.records import ArticleRecord, CorrectionRecord, SourceRef
from cms.content.search import Indexed, MakeVectors, Vectors, reindex
from cms.content.slugs import check_slug, slugify
from cms.content.visibility import first_public, public_sees
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleCorrection,
    ArticlePreviousSlug,
    ArticleSource,
    ArticleStatus,
    ArticleTag,
    Revision,
    SourceRole,
    table_of,
    tag_slug,
)

Outcome = Literal["created", "updated", "unchanged"]
Row = dict[str, Any]
CHUNK = 500
LIMITS = {"title": 300, "subtitle": 300, "excerpt": 1000, "body": 1_000_000, "tag": 50}
MAX_ITEMS = {"tags": 30, "authors": 10, "sources": 20}
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_ARTICLE: Table = table_of(Article)
_AUTHORS: Table = table_of(ArticleAuthor)
_SOURCES: Table = table_of(ArticleSource)
_TAGS: Table = table_of(ArticleTag)
_CORRECTIONS: Table = table_of(ArticleCorrection)
_PREVIOUS_SLUGS: Table = table_of(ArticlePreviousSlug)
_REVISION: Table = table_of(Revision)
SQLITE_PARAMETERS = 32766
"""The most parameters a SQLite statement takes (SQLITE_MAX_VARIABLE_NUMBER since 3.32)."""
_UPDATED = [c.name for c in _ARTICLE.columns if c.name != "created_at"]
"""An update's columns: all but created_at, `id` to find the row."""
API_NAMES = {"name": "source"}
"""A record's fields named as the API does, where the snake-case name is not it (a source reference)."""


@dataclass(frozen=True)
class Written:
    outcome: Outcome
    id: str


@dataclass(eq=False)
class _Plan:
    """One record with its references resolved to ids, and what it will be written over."""

    position: int
    record: ArticleRecord
    slug: str
    title: str
    tags: list[str]
    authors: list[str]
    category: str | None
    sources: list[tuple[str, SourceRef]]
    corrections: list[CorrectionRecord]
    id: str = ""
    previous_slugs: list[str] = field(default_factory=list)
    existing: Row | None = None
    group: str = ""
    content: Row = field(default_factory=dict)
    outcome: Outcome = "unchanged"


async def write_articles(
    session: AsyncSession,
    records: Sequence[ArticleRecord],
    *,
    actor: str,
    now: datetime,
    directory: Directory | None = None,
    progress: Callable[[int], None] | None = None,
    render_many: RenderMany = render_here,
    make_vectors: MakeVectors | None = None,
) -> list[Written]:
    """Check every record, then write what changed in batches; one bad record raises InvalidRecord before
    anything of the batch is written (the caller's transaction takes care of earlier batches). With
    `make_vectors` (PostgreSQL, `search.vectors_aside`) each batch's search vectors are made beside it."""
    directory = directory or await Directory.load(session, now)
    plans = []
    for position, record in enumerate(records):
        try:
            plans.append(_resolve(position, record, directory))
        except InvalidRecord:
            raise
        except DomainError as error:
            raise InvalidRecord(position, error) from error
    await _match(session, plans)
    await _hold(session, plans)
    await _group(session, plans)
    await directory.flush(session, actor=actor)
    changed = []
    for plan in plans:
        plan.content = _content(plan)
        digest = content_hash(plan.content)
        if plan.existing is None or plan.existing["content_hash"] != digest:
            plan.content["hash"] = digest
            plan.outcome = "updated" if plan.existing else "created"
            changed.append(plan)
    if progress:
        progress(len(plans) - len(changed))
    chunks = list(batched(changed, CHUNK))
    upcoming = _render(render_many, make_vectors, chunks, 0)
    storing: asyncio.Future[None] | None = None  # the batch before: prepared while its statements run
    try:
        for index, chunk in enumerate(chunks):
            rendered, vectors = await upcoming
            # the next batch renders while this one is prepared and written
            upcoming = _render(render_many, make_vectors, chunks, index + 1)
            batch = await _prepare(chunk, rendered, vectors, directory, actor=actor, now=now)
            if storing is not None:
                await storing
            storing = asyncio.ensure_future(_store(session, batch, progress))
        if storing is not None:
            await storing
    except BaseException:
        if storing is not None:
            await asyncio.wait([storing])  # no statement left running into the rollback
        raise
    finally:
        upcoming.cancel()
    return [Written(plan.outcome, plan.id) for plan in plans]


def _resolve(position: int, record: ArticleRecord, directory: Directory) -> _Plan:
    if nul := nul_errors(record, renamed=API_NAMES):  # before any of it names or makes a reference
        raise InvalidRecord(position, InvalidInput(nul))
    errors = _check(record)
    title = (record.title or "").strip()
    slug = ""
    try:
        slug = check_slug(record.slug) if record.slug else slugify(title)
    except BadInput as error:
        errors.append(FieldError(("slug",), "INVALID", error.message))
    if not slug and title:
        errors.append(FieldError(("slug",), "INVALID", "the title gives no slug: set one"))
    for n, earlier in enumerate(record.previous_slugs):
        try:
            check_slug(earlier)
        except BadInput as error:
            errors.append(FieldError(("previousSlugs", str(n)), "INVALID", error.message))
    strict = record.existing_only
    authors = [directory.author(ref, existing_only=strict) for ref in record.authors]
    category = directory.category(record.category, existing_only=strict) if record.category else None
    sources = [directory.source(ref, existing_only=strict) for ref in record.sources]
    errors += [
        _unknown(("authors", str(i)), "author", ref)
        for i, (a, ref) in enumerate(zip(authors, record.authors, strict=True))
        if not a
    ]
    if record.category and not category:
        errors.append(_unknown(("category",), "category", "/".join(record.category)))
    errors += [
        _unknown(("sources", str(i)), "source", ref.name)
        for i, (s, ref) in enumerate(zip(sources, record.sources, strict=True))
        if not s
    ]
    if errors:
        raise InvalidRecord(position, InvalidInput(errors))
    tags = list(dict.fromkeys(tag.strip().lower() for tag in record.tags if tag.strip()))
    return _Plan(
        position,
        record,
        slug,
        title,
        tags,
        [a for a in authors if a],
        category,
        [(s, ref) for s, ref in zip(sources, record.sources, strict=True) if s],
        corrections.oldest_first(record.corrections),
    )


def _unknown(path: tuple[str, ...], what: str, ref: str) -> FieldError:
    return FieldError(path, "NOT_FOUND", f"no {what} {ref!r}")


def _check(record: ArticleRecord) -> list[FieldError]:
    """The rules of a well-formed article, every broken one reported."""
    errors = []
    if not (record.title or "").strip():
        errors.append(FieldError(("title",), "REQUIRED", "an article needs a title"))
    for name in ("title", "subtitle", "excerpt", "body"):
        value = getattr(record, name)
        if value is not None and len(value) > LIMITS[name]:
            message = f"{name} is longer than {LIMITS[name]:,} characters"
            errors.append(FieldError((name,), "TOO_LONG", message))
    for name, most in MAX_ITEMS.items():
        if len(getattr(record, name)) > most:
            errors.append(FieldError((name,), "TOO_MANY", f"at most {most} {name}"))
    errors += [
        FieldError(("tags", str(i)), "TOO_LONG", f"a tag is at most {LIMITS['tag']} characters")
        for i, tag in enumerate(record.tags)
        if len(tag.strip()) > LIMITS["tag"]
    ]
    if record.status not in ArticleStatus.__members__:
        errors.append(FieldError(("status",), "INVALID", f"unknown status {record.status!r}"))
    if record.status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED) and record.published_at is None:
        message = f"a {record.status} article needs publishedAt"
        errors.append(FieldError(("publishedAt",), "REQUIRED", message))
    if not _LANGUAGE.match(record.language or ""):
        errors.append(FieldError(("language",), "INVALID", f"not a language tag: {record.language!r}"))
    if record.id is not None and (problem := id_problem(record.id, "Article")):
        errors.append(FieldError(("id",), "INVALID", problem))
    for path, url in (
        (("coverImage", "url"), (record.cover_image or {}).get("url")),
        (("seo", "canonicalUrl"), (record.seo or {}).get("canonicalUrl")),
    ):
        if url is not None and not web_url(url):
            errors.append(FieldError(path, "INVALID", f"not an http(s) URL: {url!r}"))
    for i, ref in enumerate(record.sources):
        if ref.role not in SourceRole.__members__:
            errors.append(FieldError(("sources", str(i), "role"), "INVALID", f"unknown role {ref.role!r}"))
        for name, url in (("url", ref.url), ("sourceUrl", ref.source_url)):
            if url is not None and not web_url(url):
                message = f"not an http(s) URL: {url!r}"
                errors.append(FieldError(("sources", str(i), name), "INVALID", message))
    return errors + corrections.log_problems(record.corrections)


async def _match(session: AsyncSession, plans: list[_Plan]) -> None:
    """Find what each record updates: the article with its id, else with its slug and language."""
    ids = [p.record.id for p in plans if p.record.id]
    slugs = sorted({p.slug for p in plans})
    columns = [
        _ARTICLE.c[name]
        for name in (
            "id",
            "slug",
            "language",
            "content_hash",
            "version",
            "translation_group",
            "created_at",
            "status",
            "published_at",
            "first_published_at",
            "publish_pending",
        )
    ]
    found: dict[str, Row] = {}
    for chunk in batched(slugs + ids, CHUNK):
        statement = select(*columns).where(or_(_ARTICLE.c.slug.in_(chunk), _ARTICLE.c.id.in_(chunk)))
        found |= {row["id"]: dict(row) for row in (await session.execute(statement)).mappings()}
    by_key = {(row["slug"], row["language"]): row for row in found.values()}
    seen: dict[tuple[str, str] | str, int] = {}
    for plan in plans:
        by_id = found.get(plan.record.id) if plan.record.id else None
        by_slug = by_key.get((plan.slug, plan.record.language))
        if by_id and by_slug and by_id is not by_slug:
            raise _duplicate(plan, f"another article has the slug {plan.slug!r} in {plan.record.language}")
        plan.existing = by_id or by_slug
        plan.id = plan.existing["id"] if plan.existing else plan.record.id or new_id("Article")
        for key in ((plan.slug, plan.record.language), plan.id):
            if key in seen:
                raise _duplicate(plan, f"the same article ({key!r}) is also record {seen[key] + 1} here")
            seen[key] = plan.position


async def _hold(session: AsyncSession, plans: list[_Plan]) -> None:
    """Set each plan's earlier slugs (`previous_slugs.after`): SLUG_TAKEN when another article holds its
    slug as an earlier one, or one of its new earlier slugs as either (in the batch, slugs are claimed
    first)."""
    stored = await previous_slugs.of_articles(session, [p.id for p in plans if p.existing])
    claims: dict[previous_slugs.Pair, tuple[_Plan, tuple[str, ...]]] = {}
    given: list[tuple[_Plan, tuple[str, ...], str]] = []
    for plan in plans:
        existing, kept = plan.existing, stored.get(plan.id, [])
        old = existing["slug"] if existing and existing["slug"] != plan.slug else None
        plan.previous_slugs = previous_slugs.after([*kept, *plan.record.previous_slugs], old, plan.slug)
        claims[plan.slug, plan.record.language] = plan, ("slug",)
        given += [
            (plan, ("previousSlugs", str(n)), slug)
            for n, slug in enumerate(plan.previous_slugs)
            if slug not in kept and slug != old
        ]
    for plan, path, slug in given:
        if (slug, plan.record.language) in claims:
            raise _slug_taken(plan, path, f"record {claims[slug, plan.record.language][0].position + 1} here")
        claims[slug, plan.record.language] = plan, path
    held = await previous_slugs.article_holders(session, claims, current=False)
    new = [(slug, plan.record.language) for plan, _, slug in given]
    held |= await previous_slugs.article_holders(session, new, current=True)
    for pair, holder in held.items():
        plan, path = claims[pair]
        if holder != plan.id:
            raise _slug_taken(plan, path, f"article {holder!r}")


def _slug_taken(plan: _Plan, path: tuple[str, ...], holder: str) -> InvalidRecord:
    slug, language = (
        plan.slug if path == ("slug",) else plan.previous_slugs[int(path[1])],
        plan.record.language,
    )
    message = f"the slug {slug!r} in {language} is held by {holder}, as its slug or an earlier one"
    return InvalidRecord(plan.position, InvalidInput([FieldError(path, "SLUG_TAKEN", message)]))


def _duplicate(plan: _Plan, message: str) -> InvalidRecord:
    return InvalidRecord(plan.position, InvalidInput([FieldError(("slug",), "DUPLICATE", message)]))


async def _group(session: AsyncSession, plans: list[_Plan]) -> None:
    """Set each plan's translation group: the id of the original it (or its original) translates."""
    # A reference holding NUL names nothing (PostgreSQL text cannot hold one, and would fail the statement).
    refs = sorted({ref for p in plans if (ref := p.record.translation_of) and "\x00" not in ref})
    in_batch = {p.id: p for p in plans}
    by_slug: defaultdict[str, list[_Plan | Row]] = defaultdict(list)
    for p in plans:
        by_slug[p.slug].append(p)
    stored: dict[str, Row] = {}
    for chunk in batched(refs, CHUNK):
        statement = select(_ARTICLE.c.id, _ARTICLE.c.slug, _ARTICLE.c.translation_group).where(
            or_(_ARTICLE.c.slug.in_(chunk), _ARTICLE.c.id.in_(chunk))
        )
        for row in (await session.execute(statement)).mappings():
            if row["id"] not in in_batch:
                stored[row["id"]] = dict(row)
                by_slug[row["slug"]].append(stored[row["id"]])

    def group_of(plan: _Plan, trail: tuple[str, ...] = ()) -> str:
        ref = plan.record.translation_of
        if not ref:
            return plan.id
        if plan.id in trail:
            raise _bad_translation(plan, "translations form a cycle")
        target = _translation_target(ref, plan, in_batch.get(ref) or stored.get(ref), by_slug[ref])
        if isinstance(target, _Plan):
            return group_of(target, (*trail, plan.id))
        return str(target["translation_group"] or target["id"])

    for plan in plans:
        plan.group = group_of(plan)


def _translation_target(
    ref: str, plan: _Plan, by_id: _Plan | Row | None, by_slug: list[_Plan | Row]
) -> _Plan | Row:
    """The article `translationOf` names: by id, else the one with that slug, else the one original of it."""
    target = by_id
    if target is None:
        candidates = [c for c in by_slug if c is not plan]
        originals = [c for c in candidates if _is_original(c)]
        if not slug_names_one(len(candidates), len(originals)):
            problem = "names no article" if not candidates else "names several articles: give the id"
            raise _bad_translation(plan, f"translationOf {ref!r} {problem}")
        target = candidates[0] if len(candidates) == 1 else originals[0]
    if target is plan:
        raise _bad_translation(plan, "an article cannot be a translation of itself")
    return target


def slug_names_one(articles: int, originals: int) -> bool:
    """A `translationOf` slug finds its article when one other article has that slug, or when one of
    several is an original: the rule imports follow and exports write slugs by."""
    return articles == 1 or originals == 1


def _is_original(candidate: _Plan | Row) -> bool:
    if isinstance(candidate, _Plan):
        return not candidate.record.translation_of
    return candidate["translation_group"] in (None, candidate["id"])


def _bad_translation(plan: _Plan, message: str) -> InvalidRecord:
    return InvalidRecord(plan.position, InvalidInput([FieldError(("translationOf",), "NOT_FOUND", message)]))


def _content(plan: _Plan) -> Row:
    """What the article says, references by id: the content hash covers exactly this (its corrections only
    when it has some, so that articles written before the log keep their hashes)."""
    record = plan.record
    content: Row = {
        "slug": plan.slug,
        "language": record.language,
        "title": plan.title,
        "subtitle": record.subtitle,
        "excerpt": record.excerpt,
        "body": record.body,
        "status": record.status,
        "publishedAt": record.published_at.isoformat() if record.published_at else None,
        "authors": plan.authors,
        "category": plan.category,
        "tags": plan.tags,
        "sources": [[s, ref.role, ref.url, ref.note] for s, ref in plan.sources],
        "coverImage": record.cover_image,
        "seo": record.seo,
        "group": plan.group,
    }
    if plan.previous_slugs:
        content["previousSlugs"] = plan.previous_slugs
    if plan.corrections:
        content["corrections"] = [[c.kind, c.text, c.created_at.isoformat()] for c in plan.corrections]
    return content


def _render(
    render_many: RenderMany, make_vectors: MakeVectors | None, chunks: list[list[_Plan]], index: int
) -> asyncio.Future[tuple[list[RenderedBody], Vectors | None]]:
    plans = chunks[index] if index < len(chunks) else []

    async def render() -> tuple[list[RenderedBody], Vectors | None]:
        rendered = await render_many([plan.record.body for plan in plans])
        if make_vectors is None or not plans:
            return rendered, None
        indexed = {
            plan.id: Indexed.of(plan.title, plan.record.subtitle, plan.record.excerpt, plan.tags, body.text)
            for plan, body in zip(plans, rendered, strict=True)
        }
        return rendered, await make_vectors(indexed)

    return asyncio.ensure_future(render())


def _row(plan: _Plan, rendered: RenderedBody, now: datetime) -> Row:
    record, existing = plan.record, plan.existing
    return {
        "id": plan.id,
        "slug": plan.slug,
        "language": record.language,
        "title": plan.title,
        "subtitle": record.subtitle,
        "excerpt": record.excerpt,
        "body": record.body,
        "body_html": rendered.html,
        "body_text": rendered.text,
        "word_count": rendered.word_count,
        "derived_excerpt": rendered.excerpt,
        "status": record.status,
        "published_at": record.published_at,
        "first_published_at": first_public(
            existing["first_published_at"] if existing else record.first_published_at,
            status=record.status,
            published_at=record.published_at,
            now=now,
        ),
        "created_at": existing["created_at"] if existing else record.created_at or now,
        "updated_at": now if existing else record.updated_at or now,
        "category_id": plan.category,
        "translation_group": plan.group,
        "cover_image": record.cover_image,
        "seo": record.seo,
        "version": existing["version"] + 1 if existing else 1,
        "content_hash": plan.content["hash"],
        "publish_pending": changes.scheduled(record.status, record.published_at, now),
    }


@dataclass
class _Batch:
    """One batch's rows for every table, made before any of its statements runs."""

    created: list[Row]
    updated: list[Row]
    links: list[tuple[Table, list[Row]]]
    revisions: list[Row]
    events: list[Row]
    vectors: Vectors | None


PREPARE_STEP = 50
"""Plans prepared between two turns of the event loop, which meanwhile sends the previous batch's next
statement."""


async def _prepare(
    plans: list[_Plan],
    rendered: list[RenderedBody],
    vectors: Vectors | None,
    directory: Directory,
    *,
    actor: str,
    now: datetime,
) -> _Batch:
    rows: list[Row] = []
    revisions: list[Row] = []
    events: list[Row] = []
    for step in range(0, len(plans), PREPARE_STEP):
        await asyncio.sleep(0)
        for plan, body in zip(
            plans[step : step + PREPARE_STEP], rendered[step : step + PREPARE_STEP], strict=True
        ):
            row = _row(plan, body, now)
            rows.append(row)
            revisions.append(
                {
                    "article_id": row["id"],
                    "version": row["version"],
                    "created_at": now,
                    "actor": actor,
                    "title": row["title"],
                    "status": row["status"],
                    "snapshot": dumps(_snapshot(row, plan, directory)).decode(),
                }
            )
            events.append(
                changes.event(
                    "Article",
                    plan.id,
                    now=now,
                    actor=actor,
                    public=public_sees(plan.existing, now) or public_sees(row, now),
                    webhook_events=outbox.article_events(plan.existing, row, now=now),
                )
            )
    tag_slugs = {tag: tag_slug(tag) for plan in plans for tag in plan.tags}
    links: list[tuple[Table, list[Row]]] = [
        (
            _AUTHORS,
            [
                {"article_id": p.id, "author_id": a, "position": i}
                for p in plans
                for i, a in enumerate(p.authors)
            ],
        ),
        (
            _SOURCES,
            [
                {
                    "article_id": p.id,
                    "position": i,
                    "source_id": s,
                    "role": ref.role,
                    "url": ref.url,
                    "note": ref.note,
                }
                for p in plans
                for i, (s, ref) in enumerate(p.sources)
            ],
        ),
        (
            _TAGS,
            [
                {"article_id": p.id, "tag": t, "position": i, "slug": tag_slugs[t]}
                for p in plans
                for i, t in enumerate(p.tags)
            ],
        ),
        (_CORRECTIONS, [row for p in plans for row in corrections.rows(p.id, p.corrections)]),
        (
            _PREVIOUS_SLUGS,
            [
                row
                for p in plans
                for row in previous_slugs.article_rows(p.id, p.record.language, p.previous_slugs)
            ],
        ),
    ]
    created = [row for row, plan in zip(rows, plans, strict=True) if plan.existing is None]
    updated = [
        {c: row[c] for c in _UPDATED}
        for row, plan in zip(rows, plans, strict=True)
        if plan.existing is not None
    ]
    return _Batch(created, updated, links, revisions, events, vectors)


async def _store(session: AsyncSession, batch: _Batch, progress: Callable[[int], None] | None) -> None:
    """A batch's statements: one per table, whatever the number of rows (`_given`)."""
    await _insert(session, _ARTICLE, batch.created)
    if batch.updated:
        assigned = ", ".join(f"{c} = r.{c}" for c in _UPDATED if c != "id")
        for given, values in _given(session, _ARTICLE, batch.updated):
            await _execute(
                session, f"{given} UPDATE article SET {assigned} FROM r WHERE article.id = r.id", values
            )
        ids = [row["id"] for row in batch.updated]
        for link in (_AUTHORS, _SOURCES, _TAGS, _CORRECTIONS, _PREVIOUS_SLUGS):
            await session.execute(delete(link).where(link.c.article_id.in_(ids)))
    for table, rows in batch.links:
        await _insert(session, table, rows)
    await reindex(session, [row["id"] for row in (*batch.created, *batch.updated)], batch.vectors)
    await _insert(session, _REVISION, batch.revisions)
    await changes.append(session, batch.events)
    if progress:
        progress(len(batch.events))


async def _insert(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    if rows:
        columns = ", ".join(rows[0])
        for given, values in _given(session, table, rows):
            await _execute(session, f"{given} INSERT INTO {table.name} ({columns}) SELECT * FROM r", values)


def _given(session: AsyncSession, table: Table, rows: Sequence[Row]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The rows (of `table`'s columns, each value as its column binds it) as a table `r` for the statement
    that follows (`WITH r (...) AS (...)`), and its parameters: one array per column on PostgreSQL (unnest),
    a VALUES list on SQLite (as many statements as its limit of parameters needs). One statement for many
    rows, where executemany is a statement per row on PostgreSQL (asyncpg), each firing the statement-level
    triggers, and on SQLite takes the GIL back at every row, behind whatever else the process runs."""
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    bound = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
    named = f"WITH r ({', '.join(columns)}) AS"
    if dialect.name == "postgresql":
        types = [table.c[c].type.compile(dialect=dialect) for c in columns]
        arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, 1))
        values = tuple([row[c] if bind is None else bind(row[c]) for row in rows] for c, bind in bound)
        yield f"{named} (SELECT * FROM unnest({arrays}))", values
        return
    one = f"({', '.join('?' * len(columns))})"
    for part in batched(rows, SQLITE_PARAMETERS // len(columns)):
        values = tuple(row[c] if bind is None else bind(row[c]) for row in part for c, bind in bound)
        yield f"{named} (VALUES {', '.join([one] * len(part))})", values


async def _execute(session: AsyncSession, statement: str, values: tuple[Any, ...]) -> None:
    connection = await session.connection()
    await connection.exec_driver_sql(statement, values)


def _snapshot(row: Row, plan: _Plan, directory: Directory) -> Document:
    """The revision's copy: the export form, the translation's original named by id."""
    return article_document(
        row,
        authors=[directory.authors.slug(a) for a in plan.authors],
        category=directory.categories.slug(plan.category) if plan.category else None,
        tags=plan.tags,
        sources=[attribution(directory.sources.slug(s), r.role, r.url, r.note) for s, r in plan.sources],
        translation_of=plan.group if plan.group != plan.id else None,
        corrections=[correction(c.kind, c.text, c.created_at) for c in plan.corrections],
        previous_slugs=plan.previous_slugs,
    )
