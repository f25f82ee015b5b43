"""The `cms` command: serve | migrate | seed | import | export | token | documents | schema."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, TypeVar

import typer

from cms.settings import Settings

if TYPE_CHECKING:
    from graphql import GraphQLError
    from sqlalchemy.ext.asyncio import AsyncEngine

    from cms.content.roles import Role

T = TypeVar("T")
app = typer.Typer(help="Newsroom CMS: a GraphQL content API.", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")
documents_app = typer.Typer(
    help="Persisted documents: import a client's manifest as trusted, list what is stored.",
    no_args_is_help=True,
)
app.add_typer(documents_app, name="documents")
FIRST_ADMIN_HINT = "No admin token yet: create one with  .venv/bin/cms token create --name admin --role ADMIN"
SCHEMA_FILE = Path("schema/schema.graphql")
_PLURALS = {"source": "sources", "author": "authors", "category": "categories", "article": "articles"}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: CMS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: CMS_PORT or 8000")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes on the port, one per core. Default: CMS_WORKERS or 1")
    ] = None,
) -> None:
    """Serve the API and GraphiQL at http://HOST:PORT/graphql, from WORKERS processes sharing the port: each
    builds its own app from the CMS_* environment (uvicorn's workers), with its own engine and caches; they
    count CMS_RATE_LIMIT together, in a file made here for them."""
    import uvicorn

    from cms.app import SERVED
    from cms.delivery.ratelimit import shared_counts

    settings = Settings.from_env()
    if not _with_engine(_has_admin):
        typer.echo(FIRST_ADMIN_HINT)
    typer.echo(f"GraphiQL and the API: http://{host or settings.host}:{port or settings.port}/graphql")
    processes = workers or settings.workers
    with ExitStack() as stack:
        if processes > 1 and settings.rate_limit and not settings.rate_limit_counts:
            os.environ["CMS_RATE_LIMIT_COUNTS"] = stack.enter_context(shared_counts())  # the workers' own
        uvicorn.run(
            SERVED,
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=processes,
            log_level=settings.log_level,
            proxy_headers=False,  # who the client is behind a proxy is CMS_TRUSTED_PROXIES' rule alone
        )


async def _has_admin(engine: AsyncEngine) -> bool:
    """Whether an ADMIN token works now: without one, nobody can create tokens through the API."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from cms.clock import Clock
    from cms.content import tokens

    async with AsyncSession(engine) as session:
        return await tokens.has_admin(session, now=Clock().now())


@app.command()
def migrate() -> None:
    """Upgrade the database named by CMS_DATABASE_URL (SQLite or PostgreSQL) to the newest schema."""
    from cms.migrate import upgrade

    settings = Settings.from_env()
    _ensure_sqlite_folder(settings)
    upgrade(settings.async_database_url)
    typer.echo("database is up to date")


@app.command()
def seed(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; default: CMS_SEEDS or seeds/")
    ] = None,
    if_empty: Annotated[bool, typer.Option(help="Load only into a database with no articles.")] = False,
) -> None:
    """Load sample content (.md, .txt captures with their .yaml); loading it twice changes nothing."""
    settings = Settings.from_env()
    _load(paths or [settings.seeds_path], actor="seed", if_empty=if_empty)


@app.command(name="import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: .md, .txt (+ .yaml), .ndjson")],
) -> None:
    """Import content files in one transaction: one bad record (named by file and line) writes nothing."""
    _load(paths, actor="import", if_empty=False)


def _load(paths: list[Path], *, actor: str, if_empty: bool) -> None:
    from cms.clock import Clock
    from cms.files.importer import import_paths, is_empty

    async def run(engine: AsyncEngine) -> str:
        if if_empty and not await is_empty(engine):
            return "database already has content; seeds not loaded"
        with _progress("importing") as (started, advance):
            summary = await import_paths(
                engine, paths, actor=actor, now=Clock().now(), started=started, progress=advance
            )
        return str(summary)

    typer.echo(_with_engine(run))


@app.command()
def export(
    out: Annotated[
        Path | None, typer.Option(help="The NDJSON file to write; default: standard output")
    ] = None,
) -> None:
    """Export everything (drafts too, ids kept) as NDJSON that `cms import` takes back unchanged."""
    from cms.files.exporter import export_ndjson

    async def run(engine: AsyncEngine) -> str:
        with _progress("exporting") as (started, advance), _output(out) as stream:
            counts = await export_ndjson(engine, stream, started=started, progress=advance)
        return ", ".join(f"{counts[kind]} {plural}" for kind, plural in _PLURALS.items())

    typer.echo(f"exported {_with_engine(run)}" + (f" to {out}" if out else ""), err=True)


def _with_engine(run: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run against CMS_DATABASE_URL; input, content and database problems end in one clear line and
    status 1."""
    from sqlalchemy.exc import DBAPIError

    from cms.content.errors import DomainError
    from cms.db import create_engine
    from cms.files.errors import ContentFileError

    settings = Settings.from_env()

    async def main() -> T:
        engine = create_engine(settings.async_database_url, sqlite_mmap_mib=settings.sqlite_mmap_mib)
        try:
            return await run(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ContentFileError as error:
        message = f"error: {error}"
    except DomainError as error:
        message = f"error: {error.message}"
    except (DBAPIError, OSError) as error:
        cause = getattr(error, "orig", None) or error
        message = f"error: {settings.database_url}: {cause} (has `cms migrate` run on it?)"
    typer.echo(message, err=True)
    raise typer.Exit(1)


@contextmanager
def _progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A progress bar on standard error: the total once known, then what is done."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda total: bar.update(task, total=total)), (lambda done: bar.advance(task, done))


@contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    """Standard output, or a file that appears only once it is complete."""
    if path is None:
        yield sys.stdout.buffer
        return
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as stream:
            yield stream
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who uses it; revisions name it as the actor of a change.")],
    role: Annotated[str, typer.Option(help="READER, PREVIEW, EDITOR or ADMIN.")],
    expires: Annotated[
        str | None,
        typer.Option(
            help="When it stops working: 2027-01-31 (midnight) or an ISO 8601 time; UTC unless given."
        ),
    ] = None,
) -> None:
    """Create a token and print it, this once: only its hash is stored."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from cms.clock import Clock
    from cms.content import tokens

    chosen = _role(role)
    expires_at = _instant(expires) if expires is not None else None

    async def run(engine: AsyncEngine) -> tokens.Issued:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await tokens.create_token(
                session, name=name, role=chosen, expires_at=expires_at, now=Clock().now()
            )

    issued = _with_engine(run)
    typer.echo(issued.token)
    typer.echo(
        f"created {issued.row.id} ({issued.row.role}, {issued.row.name!r}): store the token now, "
        "it will not be shown again",
        err=True,
    )


@token_app.command("list")
def token_list() -> None:
    """Every token, revoked ones too; never a token or its hash."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from cms.content import tokens

    async def run(engine: AsyncEngine) -> list[list[str]]:
        async with AsyncSession(engine) as session:
            rows = await tokens.list_tokens(session)
        return [
            [r.id, r.name, r.role, *map(_moment, (r.created_at, r.expires_at, r.last_used_at, r.revoked_at))]
            for r in rows
        ]

    _table(["ID", "NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED", "REVOKED"], _with_engine(run))


def _table(header: list[str], rows: list[list[str]]) -> None:
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="As `cms token list` shows it.")],
) -> None:
    """Revoke a token: it fails from the next request on. The record stays, for `cms token list`."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from cms.clock import Clock
    from cms.content import tokens

    async def run(engine: AsyncEngine) -> str:
        async with AsyncSession(engine) as session, session.begin():
            row = await tokens.revoke_token(session, token_id=token_id, now=Clock().now())
            return f"revoked {row.id} ({row.role}, {row.name!r})"

    typer.echo(_with_engine(run))


@documents_app.command("import")
def documents_import(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help='graphql-codegen\'s persisted-documents manifest: {"<sha256>": "<document>"}'
        ),
    ],
) -> None:
    """Store a manifest's documents as trusted, in one transaction, each checked against its hash and the
    served schema: one bad entry (named by its key) stores nothing."""
    from cms.clock import Clock
    from cms.content import persisted

    async def run(engine: AsyncEngine) -> int:
        return await persisted.import_manifest(engine, file, now=Clock().now(), validate=document_errors)

    count = _with_engine(run)
    typer.echo(f"stored {count} trusted document{'' if count == 1 else 's'} from {file}")


@documents_app.command("list")
def documents_list() -> None:
    """Every stored document: hash, trusted (imported) or apq (a client stored it), when, first line."""
    from cms.content import persisted

    async def run(engine: AsyncEngine) -> list[list[str]]:
        return [
            [r.hash, "trusted" if r.trusted else "apq", _moment(r.created_at), _first_line(r.document)]
            for r in await persisted.listed(engine)
        ]

    _table(["HASH", "KIND", "CREATED", "DOCUMENT"], _with_engine(run))


def document_errors(text: str) -> list[str]:
    """What the served schema finds wrong with a document: what a request of it would be refused for
    (syntax, validation and the limits: `cms.graphql.documents`)."""
    from cms.graphql.documents import prepare
    from cms.graphql.schema import schema

    return [_located(error) for error in prepare(schema._schema, text).errors]


def _located(error: GraphQLError) -> str:
    where = (
        f" (line {error.locations[0].line}, column {error.locations[0].column})" if error.locations else ""
    )
    return error.message + where


def _first_line(document: str, width: int = 60) -> str:
    line = next((line.strip() for line in document.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


def _role(value: str) -> Role:
    from cms.content.roles import Role

    try:
        return Role(value.upper())
    except ValueError:
        typer.echo(f"error: unknown role {value!r}: use one of {', '.join(Role)}", err=True)
        raise typer.Exit(1) from None


def _instant(value: str) -> datetime:
    """A date (its midnight) or an ISO 8601 time; UTC unless it names an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: not a date or ISO 8601 time: {value!r} (e.g. 2027-01-31)", err=True)
        raise typer.Exit(1) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command()
def schema(
    check: Annotated[bool, typer.Option(help="Fail if the file differs from the served schema.")] = False,
    out: Annotated[Path, typer.Option(help="Where the SDL goes.")] = SCHEMA_FILE,
) -> None:
    """Write the served schema's SDL to schema/schema.graphql (or check that it is current)."""
    from cms.graphql.schema import schema as served

    sdl = served.as_str() + "\n"
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != sdl:
            typer.echo(f"{out} is out of date: run `cms schema`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is current")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(sdl, encoding="utf-8")
    typer.echo(f"wrote {out}")


def _ensure_sqlite_folder(settings: Settings) -> None:
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    sys.exit(app())
