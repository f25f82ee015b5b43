"""Bodies: rendered safe, stripped to text, excerpted and counted."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from cms.content.markdown import EXCERPT_LENGTH, derive_excerpt, reading_time_minutes, render


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(1)">x</a>',
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
    ],
)
def test_html_keeps_no_script_handler_or_dangerous_link(dangerous: str) -> None:
    tags = _tags(render(f"Before {dangerous} after\n").html)
    assert {name for name, _ in tags} <= {"p", "a", "img"}
    for _, attributes in tags:
        for attribute, value in attributes:
            assert not attribute.startswith("on")
            assert not (value or "").strip().lower().startswith(("javascript:", "data:"))


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element the browser would build from this HTML, with its attributes."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_markdown_becomes_html_and_plain_text() -> None:
    body = render("## Heading\n\nSome *text* with a [link](https://example.org).\n\n- one\n- two\n")
    assert "<h2>Heading</h2>" in body.html
    assert '<a href="https://example.org" rel="noopener noreferrer">link</a>' in body.html
    assert body.text == "Heading\n\nSome text with a link.\n\none\n\ntwo"
    assert body.word_count == 8


def test_excerpts_are_cut_at_a_word_within_the_limit() -> None:
    text = " ".join(f"word{n}" for n in range(200))
    excerpt = derive_excerpt(text)
    assert len(excerpt) <= EXCERPT_LENGTH
    assert excerpt.endswith("…")
    assert excerpt[:-1] in text
    assert derive_excerpt("Short  text\n\nhere") == "Short text here"


@pytest.mark.parametrize(("words", "minutes"), [(0, 1), (1, 1), (200, 1), (201, 2), (1000, 5)])
def test_reading_time(words: int, minutes: int) -> None:
    assert reading_time_minutes(words) == minutes
