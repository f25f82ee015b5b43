"""The `cms` command: serve | migrate | seed | schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from cms.settings import Settings

app = typer.Typer(help="Newsroom CMS: a GraphQL content API.", no_args_is_help=True, add_completion=False)
SCHEMA_FILE = Path("schema/schema.graphql")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: CMS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: CMS_PORT or 8000")] = None,
) -> None:
    """Serve the API and GraphiQL at http://HOST:PORT/graphql."""
    import uvicorn

    from cms.app import create_app

    settings = Settings.from_env()
    typer.echo(f"GraphiQL and the API: http://{host or settings.host}:{port or settings.port}/graphql")
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
    )


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
    from cms.clock import Clock
    from cms.db import create_engine
    from cms.files.errors import ContentFileError
    from cms.files.importer import import_paths, is_empty

    settings = Settings.from_env()

    async def run() -> str:
        engine = create_engine(settings.async_database_url)
        try:
            if if_empty and not await is_empty(engine):
                return "database already has content; seeds not loaded"
            counts = await import_paths(
                engine, paths or [settings.seeds_path], actor="seed", now=Clock().now()
            )
            return ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged"))
        finally:
            await engine.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except ContentFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


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
