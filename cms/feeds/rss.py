"""RSS 2.0 (https://www.rssboard.org/rss-specification), with the Atom self link, content:encoded for the
body and dc:creator for the bylines (RSS's own author element wants an email address)."""

from __future__ import annotations

from email.utils import format_datetime

from lxml import etree

from cms.feeds.entries import Channel
from cms.feeds.xml import ATOM, CONTENT, DC, RSS_NAMESPACES, document, element

MEDIA_TYPE = "application/rss+xml; charset=utf-8"


def rss(channel: Channel) -> bytes:
    root = etree.Element("rss", {"version": "2.0"}, nsmap=RSS_NAMESPACES)
    head = etree.SubElement(root, "channel")
    element(head, "title", channel.title)
    element(head, "link", channel.home)
    element(head, "description", channel.description)
    element(head, "language", channel.language)
    if channel.updated is not None:
        element(head, "lastBuildDate", format_datetime(channel.updated, usegmt=True))
    etree.SubElement(
        head, f"{{{ATOM}}}link", {"href": channel.self_url, "rel": "self", "type": MEDIA_TYPE.split(";")[0]}
    )
    if channel.logo is not None:
        image = etree.SubElement(head, "image")
        element(image, "url", channel.logo)
        element(image, "title", channel.title)
        element(image, "link", channel.home)
    for entry in channel.entries:
        item = etree.SubElement(head, "item")
        element(item, "title", entry.title)
        element(item, "link", entry.url)
        element(item, "guid", entry.id, isPermaLink="false")  # the id stays when a new slug moves the URL
        element(item, "description", entry.summary)
        element(item, f"{{{CONTENT}}}encoded", entry.content_html)
        element(item, "pubDate", format_datetime(entry.published, usegmt=True))
        element(item, "category", entry.category)
        for author in entry.authors:
            element(item, f"{{{DC}}}creator", author.name)
    return document(root)
