"""Feeds (RSS 2.0, JSON Feed 1.1) and sitemaps (an index, files of article URLs, Google News) as HTTP routes
beside /graphql: `routes(settings, replicas, clock)`."""

from cms.feeds.endpoints import routes

__all__ = ["routes"]
