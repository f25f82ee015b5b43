"""XML made with ElementTree, never by joining strings: every feed and sitemap document is written so."""

from __future__ import annotations

import re
from xml.etree import ElementTree

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
for _prefix, _uri in (("atom", ATOM), ("content", CONTENT), ("dc", DC), ("news", NEWS)):
    ElementTree.register_namespace(_prefix, _uri)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold, even escaped (C0 controls but tab and newlines, lone surrogates, U+FFFE/F):
ElementTree would write them and make a document no parser reads."""


def text(value: str) -> str:
    """`value` without the characters no XML document may hold (an article's title can have a C0 control)."""
    return _NOT_XML.sub("", value)


def element(parent: ElementTree.Element, tag: str, value: str | None = None, **attributes: str) -> None:
    """A child of `parent` holding `value` as text, if there is a value."""
    if value is not None:
        ElementTree.SubElement(parent, tag, attributes).text = text(value)


def document(root: ElementTree.Element, *, default_namespace: str | None = None) -> bytes:
    """The UTF-8 document with its declaration."""
    return ElementTree.tostring(
        root, encoding="utf-8", xml_declaration=True, default_namespace=default_namespace
    )
