"""An article's corrections log: the reader-facing record of what was corrected, clarified or updated.

Corrections are part of the article, not a side table of their own: a correction added is a new version of
the article through the one article write (`editing.write_articles`), so it has a revision, a change event
and webhook deliveries like any write, and readers see an article's corrections exactly when they see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.errors import FieldError
from cms.content.markdown import render
from cms.content.reads import Read, in_keys
from cms.content.records import CorrectionRecord
from cms.models import ArticleCorrection, CorrectionKind, table_of

CORRECTION: Table = table_of(ArticleCorrection)
LONGEST = 5_000
"""Characters of a correction's text: a note to readers, not a second body."""
MOST = 100
TEXT_COLUMNS = {"MARKDOWN": "text", "TEXT": "plain", "HTML": "html", None: "html"}
"""A correction's text in a format, as a body's (`articles.BODY_COLUMNS`): HTML unless asked."""


def problems(correction: CorrectionRecord) -> list[FieldError]:
    """Every broken rule of one correction, at its fields' paths (`kind`, `text`)."""
    errors = []
    if correction.kind not in CorrectionKind.__members__:
        errors.append(FieldError(("kind",), "INVALID", f"unknown kind {correction.kind!r}"))
    if not correction.text.strip():
        errors.append(FieldError(("text",), "REQUIRED", "a correction needs its text"))
    elif len(correction.text) > LONGEST:
        message = f"a correction's text is at most {LONGEST:,} characters"
        errors.append(FieldError(("text",), "TOO_LONG", message))
    return errors


def log_problems(corrections: Sequence[CorrectionRecord]) -> list[FieldError]:
    """Every broken rule of an article's log, at `corrections.<index>.<field>`."""
    errors = []
    if len(corrections) > MOST:
        errors.append(FieldError(("corrections",), "TOO_MANY", f"at most {MOST} corrections"))
    for index, correction in enumerate(corrections):
        errors += [
            FieldError(("corrections", str(index), *error.field), error.code, error.message)
            for error in problems(correction)
        ]
    return errors


def oldest_first(corrections: Iterable[CorrectionRecord]) -> list[CorrectionRecord]:
    """The log's order: by when each was made, those made at once in the order given."""
    return sorted(corrections, key=lambda correction: correction.created_at)


def rows(article_id: str, corrections: Sequence[CorrectionRecord]) -> list[dict[str, Any]]:
    """The rows of an article's corrections, their Markdown rendered as a body's is."""
    found = []
    for position, correction in enumerate(corrections):
        rendered = render(correction.text)
        found.append(
            {
                "article_id": article_id,
                "position": position,
                "kind": correction.kind,
                "text": correction.text,
                "html": rendered.html,
                "plain": rendered.text,
                "created_at": correction.created_at,
            }
        )
    return found


async def of_article(session: AsyncSession, article_id: str) -> list[CorrectionRecord]:
    """An article's corrections as records that would write them again unchanged."""
    found = await session.execute(
        select(CORRECTION.c.kind, CORRECTION.c.text, CORRECTION.c.created_at)
        .where(CORRECTION.c.article_id == article_id)
        .order_by(CORRECTION.c.position)
    )
    return [CorrectionRecord(row.kind, row.text, row.created_at) for row in found]


def statement(article_ids: Iterable[str]) -> Read:
    """The corrections of many articles, each article's oldest first: read only through a visible article."""
    return Read(_CORRECTIONS, {"keys": list(article_ids)})


def text_in(row: Any, format_name: str | None) -> str:
    return str(getattr(row, TEXT_COLUMNS[format_name]))


_CORRECTIONS = (
    select(CORRECTION)
    .where(in_keys(CORRECTION.c.article_id))
    .order_by(CORRECTION.c.article_id, CORRECTION.c.position)
)
