"""Bodies are Markdown: safe HTML, plain text, excerpts, word counts and reading time come from here."""

from __future__ import annotations

import asyncio
import html as entities
import math
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing import get_context

import cmarkgfm
import nh3

from cms.content.batches import batched

EXCERPT_LENGTH = 300
WORDS_PER_MINUTE = 200

# cmark (the CommonMark reference parser, in C: archives of 50,000 articles render in seconds) runs in
# its safe mode, which drops raw HTML and javascript:/data: links; the output is sanitised again.
_EXTENSIONS = ["table", "strikethrough"]
_ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|pre|blockquote|th|td)>|<br ?/?>|<hr ?/?>")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class RenderedBody:
    html: str
    text: str
    word_count: int
    excerpt: str
    """`derive_excerpt` of the text: made where the body is rendered, in the import's processes too."""


def render(markdown: str) -> RenderedBody:
    """Render once at write time: HTML for pages, plain text for excerpts, search and word counts."""
    html = nh3.clean(
        cmarkgfm.markdown_to_html_with_extensions(markdown, extensions=_EXTENSIONS),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    text = _plain_text(html)
    return RenderedBody(html=html, text=text, word_count=len(text.split()), excerpt=derive_excerpt(text))


def render_all(bodies: Sequence[str]) -> list[RenderedBody]:
    return [render(body) for body in bodies]


RenderMany = Callable[[Sequence[str]], Awaitable[list[RenderedBody]]]


async def render_here(bodies: Sequence[str]) -> list[RenderedBody]:
    return render_all(bodies)


@asynccontextmanager
async def render_in_processes(part: int = 100) -> AsyncIterator[RenderMany]:
    """Render on every core: for imports of thousands of articles, where rendering is half the work."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn")) as pool:

        async def render_many(bodies: Sequence[str]) -> list[RenderedBody]:
            done = await asyncio.gather(
                *(loop.run_in_executor(pool, render_all, p) for p in batched(bodies, part))
            )
            return [rendered for chunk in done for rendered in chunk]

        yield render_many


def _plain_text(html: str) -> str:
    """The words of the sanitised HTML, one block a paragraph (the HTML is cmark's, so tags are regular)."""
    flat = entities.unescape(_TAG.sub("", _BLOCK_END.sub("\n\n", html)))
    return "\n\n".join(block.strip() for block in flat.split("\n\n") if block.strip())


def derive_excerpt(text: str) -> str:
    """The first words of the plain text, cut at a word boundary within EXCERPT_LENGTH characters."""
    flat = " ".join(text[: EXCERPT_LENGTH * 2].split())  # a long body's first words are enough
    if len(flat) <= EXCERPT_LENGTH and len(text) > EXCERPT_LENGTH * 2:
        flat = " ".join(text.split())
    if len(flat) <= EXCERPT_LENGTH:
        return flat
    cut = flat[: EXCERPT_LENGTH - 1].rsplit(" ", 1)[0].rstrip(",.;:!?-")
    return cut + "…"


def reading_time_minutes(word_count: int) -> int:
    """Minutes at WORDS_PER_MINUTE, at least one for any article."""
    return max(1, math.ceil(word_count / WORDS_PER_MINUTE))
