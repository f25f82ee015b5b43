"""Reading content files: the capture format as given, front matter, and errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content.records import ArticleRecord
from cms.files.errors import ContentFileError
from cms.files.importer import import_paths
from cms.files.reader import read_records
from cms.models import Article
from tests.conftest import NOW

CAPTURE = """Home / World / Europe / A title here

A title here


First paragraph.

Second paragraph.

About Jane Doe"""


def test_a_capture_reads_crumbs_title_body_and_byline(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(CAPTURE)
    (record,) = [loaded.record for loaded in read_records([tmp_path])]
    assert isinstance(record, ArticleRecord)
    assert record.title == "A title here"
    assert record.category == ["World", "Europe"]
    assert record.authors == ["Jane Doe"]
    assert record.body == "First paragraph.\n\nSecond paragraph.\n"
    assert record.status == "DRAFT"


def test_a_sidecar_yaml_wins_over_the_capture(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(CAPTURE)
    (tmp_path / "a.yaml").write_text("status: PUBLISHED\npublishedAt: 2020-01-02T03:04:05Z\nauthors: [X Y]\n")
    (record,) = [loaded.record for loaded in read_records([tmp_path])]
    assert isinstance(record, ArticleRecord)
    assert record.status == "PUBLISHED"
    assert record.published_at is not None
    assert record.published_at.isoformat() == "2020-01-02T03:04:05+00:00"
    assert record.authors == ["X Y"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("no front matter\n", 1, "front-matter"),
        ("---\ntitle: x\n", 1, "not closed"),
        ("---\ntitle: x\nslug: [unclosed\n---\nbody\n", 3, "bad YAML"),
        ("---\ntitle: x\nwhatever: 1\n---\nbody\n", 1, "unknown field"),
        ("---\ntitle: x\npublishedAt: yesterday\n---\nbody\n", 1, "ISO 8601"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(text)
    with pytest.raises(ContentFileError) as caught:
        read_records([path])
    assert caught.value.path == path
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


async def test_one_bad_article_writes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    (tmp_path / "1.md").write_text(
        "---\ntitle: Good one\nstatus: PUBLISHED\npublishedAt: 2020-01-01\n---\nx\n"
    )
    (tmp_path / "2.md").write_text("---\ntitle: Bad one\nstatus: PUBLISHED\n---\nno date\n")
    with pytest.raises(ContentFileError, match="2.md:1: .*publishedAt"):
        await import_paths(engine, [tmp_path], actor="test", now=NOW)
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Article)) == 0
