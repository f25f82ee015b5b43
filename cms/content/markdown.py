"""Bodies are Markdown: safe HTML, plain text, excerpts, word counts and reading time come from here."""

from __future__ import annotations

import math
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

EXCERPT_LENGTH = 300
WORDS_PER_MINUTE = 200

# Raw HTML is off in the parser and the output is sanitised again, so neither a <script> typed into the
# Markdown nor a javascript:/data: link survives.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_ALLOWED_TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}


@dataclass(frozen=True)
class RenderedBody:
    html: str
    text: str
    word_count: int


def render(markdown: str) -> RenderedBody:
    """Render once at write time: HTML for pages, plain text for excerpts, search and word counts."""
    tokens = _md.parse(markdown)
    html = nh3.clean(
        _md.renderer.render(tokens, _md.options, {}),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    text = _plain_text(tokens)
    return RenderedBody(html=html, text=text, word_count=len(text.split()))


def _plain_text(tokens: list[Token]) -> str:
    blocks = [
        "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))
        if token.type == "inline"
        else token.content.rstrip("\n")
        for token in tokens
        if token.type in ("inline", "code_block", "fence")
    ]
    return "\n\n".join(block for block in blocks if block)


def derive_excerpt(text: str) -> str:
    """The first words of the plain text, cut at a word boundary within EXCERPT_LENGTH characters."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_LENGTH:
        return flat
    cut = flat[: EXCERPT_LENGTH - 1].rsplit(" ", 1)[0].rstrip(",.;:!?-")
    return cut + "…"


def reading_time_minutes(word_count: int) -> int:
    """Minutes at WORDS_PER_MINUTE, at least one for any article."""
    return max(1, math.ceil(word_count / WORDS_PER_MINUTE))
