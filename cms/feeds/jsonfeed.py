"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

from typing import Any

import orjson

from cms.feeds.entries import Channel

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json; charset=utf-8"


def json_feed(channel: Channel) -> bytes:
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": channel.title,
        "home_page_url": channel.home,
        "feed_url": channel.self_url,
        "description": channel.description,
    }
    if channel.logo is not None:
        feed["icon"] = channel.logo
    if channel.language is not None:
        feed["language"] = channel.language
    items = []
    for entry in channel.entries:
        item: dict[str, Any] = {
            "id": entry.id,  # kept when a new slug moves the URL
            "url": entry.url,
            "title": entry.title,
            "summary": entry.summary,
            "content_html": entry.content_html,
            "date_published": entry.published.isoformat(),
            "date_modified": entry.updated.isoformat(),
            "language": entry.language,
        }
        if entry.authors:
            item["authors"] = [
                {"name": author.name} | ({"avatar": author.avatar_url} if author.avatar_url else {})
                for author in entry.authors
            ]
        if entry.image is not None:
            item["image"] = entry.image
        if entry.category is not None:
            item["tags"] = [entry.category]
        items.append(item)
    feed["items"] = items
    return orjson.dumps(feed)
