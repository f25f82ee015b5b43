"""Settings from CMS_* environment variables, read once and passed in (never at import time)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cms.content import urls
from cms.content.forms import web_url

DEFAULT_DATABASE_URL = "sqlite:///var/cms.db"
SQLITE_MMAP_MIB = 2048
PLANNER_MODES = ("on", "off", "check")
DOCUMENT_MODES = ("open", "trusted")
_ORIGIN = re.compile(r"https?://[^/\s:]+(:\d+)?")


def async_database_url(url: str, setting: str = "CMS_DATABASE_URL") -> str:
    """Turn the plain URL a user writes (in `setting`) into one naming the async driver we ship.

    `sqlite:///x.db` -> `sqlite+aiosqlite:///x.db`, `postgres(ql)://...` -> `postgresql+asyncpg://...`;
    a URL that already names a driver is kept as it is.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"{setting} is not a URL: {url!r}")
    if "+" in scheme:
        return url
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"{setting}: unsupported database {scheme!r} (use sqlite:// or postgresql://)")


def _postgresql(async_url: str) -> bool:
    return async_url.partition("://")[0].split("+")[0] == "postgresql"


@dataclass(frozen=True)
class Settings:
    """Everything the app and the CLI need to know about their surroundings."""

    database_url: str = DEFAULT_DATABASE_URL
    database_replica_urls: tuple[str, ...] = ()
    """`CMS_DATABASE_REPLICA_URLS`: streaming replicas of the PostgreSQL database (comma-separated URLs) that
    serve the public's reads, each request on the next in turn (`cms.db.Replicas`); writes and the reads
    that must see them stay on `database_url`."""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    workers: int = 1
    """`CMS_WORKERS`: the processes `cms serve` runs on its port (one per core: each is one event loop), each
    with its own engine, pools and caches; what must agree across them is kept in the database."""
    seeds_path: Path = field(default_factory=lambda: Path("seeds"))
    graphiql: bool = True
    webhooks: bool = True
    """Run the webhook delivery worker in this process (several processes may: they never send one twice)."""
    webhook_interval: float = 1.0
    """Seconds between the worker's ticks: how late a delivery or a scheduled publication's event can be."""
    webhook_attempts: int = 6
    """Attempts per delivery before it is FAILED (the waits between: cms.content.webhooks.retry_after)."""
    sqlite_mmap_mib: int = SQLITE_MMAP_MIB
    """How much of a SQLite database file each read connection maps into memory (`PRAGMA mmap_size`; SQLite
    caps it near 2 GiB); 0 reads it with a system call a page. Mapped pages are the OS page cache's own,
    shared by every connection and process, where a connection's own cache holds 2 MiB: counting the
    visible articles, most of a front page, takes 40% less time."""
    cors_origins: tuple[str, ...] = ("*",)
    """The origins whose browsers may call the API (`CMS_CORS_ORIGINS`, comma-separated), or `*`: tokens
    travel in the Authorization header, never in cookies, so no origin gains ambient authority."""
    documents: str = "open"
    """`CMS_DOCUMENTS`: "open" (any document; automatic persisted queries store new ones) or "trusted"
    (callers below EDITOR run only the trusted documents `cms documents import` stored)."""
    cache_max_age: int = 10
    """`CMS_CACHE_MAX_AGE`: seconds a browser may keep a public answer before it revalidates (a 304)."""
    cache_s_maxage: int = 60
    """`CMS_CACHE_S_MAXAGE`: seconds a shared cache (a CDN, Varnish) may keep one; purges end it sooner."""
    cache_swr: int = 30
    """`CMS_CACHE_SWR`: seconds a cache may serve a stale answer while it fetches a fresh one."""
    purge_url: str | None = None
    """`CMS_PURGE_URL`: where every write's surrogate keys are sent to be purged (a Varnish with xkey)."""
    response_cache_mib: int = 64
    """`CMS_RESPONSE_CACHE_MIB`: the memory this process gives to answers it keeps; 0 turns it off."""
    max_cost: int = 10_000
    """`CMS_MAX_COST`: the most a request without a token may cost (`cms.graphql.cost`)."""
    max_cost_token: int = 100_000
    """`CMS_MAX_COST_TOKEN`: the most a request with a token may cost."""
    rate_limit: str | None = None
    """`CMS_RATE_LIMIT`: requests a caller may send, `N/second` or `N/minute`, per token, else per client
    address; off when unset."""
    rate_limit_counts: str | None = None
    """`CMS_RATE_LIMIT_COUNTS`: the file where the workers of one `cms serve --workers N` count together,
    which it makes and names for them; not a setting of its own (unset: each process counts its callers)."""
    trusted_proxies: tuple[str, ...] = ()
    """`CMS_TRUSTED_PROXIES`: addresses or networks (comma-separated) whose X-Forwarded-For is believed."""
    statement_timeout_ms: int = 5000
    """`CMS_STATEMENT_TIMEOUT_MS`: no statement runs longer; it is stopped and answered with TIMEOUT."""
    max_body_kib: int = 1024
    """`CMS_MAX_BODY_KIB`: a request body over this is a 413."""
    introspection: bool = True
    """`CMS_INTROSPECTION`: off, callers below EDITOR may not introspect the schema, nor get suggestions."""
    webhook_allow_private: bool = False
    """`CMS_WEBHOOK_ALLOW_PRIVATE`: webhook and purge targets may be loopback or private addresses."""
    webhook_retention_days: int = 30
    """`CMS_WEBHOOK_RETENTION_DAYS`: delivered and failed deliveries are pruned after this many days."""
    article_url: str | None = None
    """`CMS_ARTICLE_URL`: the template of an article's public URL, e.g. `https://news.example/{language}/{slug}`
    (placeholders {language}, {slug}, {id}; `cms.content.urls`). Feeds, sitemaps and `Article.url` need it:
    unset, the feed and sitemap routes answer 404."""
    site_url: str | None = None
    """`CMS_SITE_URL`: the site's address, the feeds' home link and the base of the sitemap index's entries
    (the site serves /feeds/, /sitemap.xml and /sitemaps/ from this API, under its own name). Unset: the
    origin of `CMS_ARTICLE_URL` (which must then have no placeholder in its host)."""
    publisher_name: str = "Newsroom"
    """`CMS_PUBLISHER_NAME`: the publication's name, in feeds' titles and the Google News sitemap."""
    publisher_logo_url: str | None = None
    """`CMS_PUBLISHER_LOGO_URL`: the publication's logo (the feeds' image and icon); none when unset."""
    planner: str = "on"
    """Planned reads: "on", "off" (every read on Strawberry's resolvers), or "check" (answer with the
    resolvers and compare the planner's answer with it: the test suite's differential mode)."""

    def __post_init__(self) -> None:
        if self.database_replica_urls and not _postgresql(self.async_database_url):
            raise ValueError(
                "CMS_DATABASE_REPLICA_URLS: read replicas are a PostgreSQL feature, and CMS_DATABASE_URL is "
                "not a PostgreSQL database (unset CMS_DATABASE_REPLICA_URLS)"
            )
        for replica in self.async_replica_urls:
            if not _postgresql(replica):
                raise ValueError(f"CMS_DATABASE_REPLICA_URLS: not a PostgreSQL URL: {replica!r}")
        if self.sqlite_mmap_mib < 0:
            raise ValueError(f"CMS_SQLITE_MMAP_MIB must be 0 or more, not {self.sqlite_mmap_mib}")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"CMS_CORS_ORIGINS: not an origin (scheme://host[:port]): {origin!r}")
        if self.documents not in DOCUMENT_MODES:
            raise ValueError(
                f"CMS_DOCUMENTS must be one of {', '.join(DOCUMENT_MODES)}, not {self.documents!r}"
            )
        if self.rate_limit is not None and not re.fullmatch(r"[1-9]\d*/(second|minute)", self.rate_limit):
            raise ValueError(f"CMS_RATE_LIMIT must be N/second or N/minute, not {self.rate_limit!r}")
        counts = (
            "workers",
            "max_cost",
            "max_cost_token",
            "statement_timeout_ms",
            "max_body_kib",
            "webhook_retention_days",
        )
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"CMS_{name.upper()} must be 1 or more, not {getattr(self, name)}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"CMS_TRUSTED_PROXIES: not an address or network: {proxy!r}") from None
        ages = ("cache_max_age", "cache_s_maxage", "cache_swr")
        for name in ("webhook_retention_days", *ages, "response_cache_mib"):
            if getattr(self, name) < 0:
                raise ValueError(f"CMS_{name.upper()} must be 0 or more, not {getattr(self, name)}")
        if self.purge_url is not None and not re.fullmatch(r"https?://\S+", self.purge_url):
            raise ValueError(f"CMS_PURGE_URL: not an http(s) URL: {self.purge_url!r}")
        if self.article_url is not None:
            urls.checked(self.article_url)
            if self.site_url is None and urls.origin(self.article_url) is None:
                raise ValueError("CMS_SITE_URL is needed when CMS_ARTICLE_URL has a placeholder in its host")
        for name in ("site_url", "publisher_logo_url"):
            value = getattr(self, name)
            if value is not None and not web_url(value):
                raise ValueError(f"CMS_{name.upper()}: not an http(s) URL: {value!r}")
        if not self.publisher_name.strip():
            raise ValueError("CMS_PUBLISHER_NAME must not be empty")
        if self.planner not in PLANNER_MODES:
            raise ValueError(f"CMS_PLANNER must be one of {', '.join(PLANNER_MODES)}, not {self.planner!r}")

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @property
    def async_replica_urls(self) -> tuple[str, ...]:
        return tuple(
            async_database_url(url, "CMS_DATABASE_REPLICA_URLS") for url in self.database_replica_urls
        )

    @property
    def site(self) -> str | None:
        """The site's address with no trailing slash (`site_url`, else the article URLs' origin); None
        without `CMS_ARTICLE_URL`."""
        if self.article_url is None:
            return None
        return (self.site_url or urls.origin(self.article_url) or "").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read CMS_DATABASE_URL, CMS_DATABASE_REPLICA_URLS, CMS_HOST, CMS_PORT, CMS_LOG_LEVEL, CMS_WORKERS,
        CMS_SEEDS, CMS_GRAPHIQL, CMS_WEBHOOKS, CMS_WEBHOOK_INTERVAL, CMS_WEBHOOK_ATTEMPTS,
        CMS_SQLITE_MMAP_MIB, CMS_CORS_ORIGINS, CMS_DOCUMENTS, CMS_CACHE_MAX_AGE, CMS_CACHE_S_MAXAGE,
        CMS_CACHE_SWR, CMS_PURGE_URL, CMS_RESPONSE_CACHE_MIB, CMS_MAX_COST, CMS_MAX_COST_TOKEN,
        CMS_RATE_LIMIT, CMS_RATE_LIMIT_COUNTS, CMS_TRUSTED_PROXIES, CMS_STATEMENT_TIMEOUT_MS,
        CMS_MAX_BODY_KIB, CMS_INTROSPECTION, CMS_WEBHOOK_ALLOW_PRIVATE, CMS_WEBHOOK_RETENTION_DAYS,
        CMS_ARTICLE_URL, CMS_SITE_URL, CMS_PUBLISHER_NAME, CMS_PUBLISHER_LOGO_URL, CMS_PLANNER."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("CMS_DATABASE_URL", DEFAULT_DATABASE_URL),
            database_replica_urls=_listed(env.get("CMS_DATABASE_REPLICA_URLS", "")),
            host=env.get("CMS_HOST", "127.0.0.1"),
            port=int(env.get("CMS_PORT", "8000")),
            log_level=env.get("CMS_LOG_LEVEL", "info"),
            workers=int(env.get("CMS_WORKERS", "1")),
            seeds_path=Path(env.get("CMS_SEEDS", "seeds")),
            graphiql=_on(env.get("CMS_GRAPHIQL", "1")),
            webhooks=_on(env.get("CMS_WEBHOOKS", "1")),
            webhook_interval=float(env.get("CMS_WEBHOOK_INTERVAL", "1")),
            webhook_attempts=int(env.get("CMS_WEBHOOK_ATTEMPTS", "6")),
            sqlite_mmap_mib=int(env.get("CMS_SQLITE_MMAP_MIB", str(SQLITE_MMAP_MIB))),
            cors_origins=_listed(env.get("CMS_CORS_ORIGINS", "*")),
            documents=env.get("CMS_DOCUMENTS", "open").lower(),
            cache_max_age=int(env.get("CMS_CACHE_MAX_AGE", "10")),
            cache_s_maxage=int(env.get("CMS_CACHE_S_MAXAGE", "60")),
            cache_swr=int(env.get("CMS_CACHE_SWR", "30")),
            purge_url=env.get("CMS_PURGE_URL") or None,
            response_cache_mib=int(env.get("CMS_RESPONSE_CACHE_MIB", "64")),
            max_cost=int(env.get("CMS_MAX_COST", "10000")),
            max_cost_token=int(env.get("CMS_MAX_COST_TOKEN", "100000")),
            rate_limit=env.get("CMS_RATE_LIMIT") or None,
            rate_limit_counts=env.get("CMS_RATE_LIMIT_COUNTS") or None,
            trusted_proxies=_listed(env.get("CMS_TRUSTED_PROXIES", "")),
            statement_timeout_ms=int(env.get("CMS_STATEMENT_TIMEOUT_MS", "5000")),
            max_body_kib=int(env.get("CMS_MAX_BODY_KIB", "1024")),
            introspection=_on(env.get("CMS_INTROSPECTION", "1")),
            webhook_allow_private=_on(env.get("CMS_WEBHOOK_ALLOW_PRIVATE", "0")),
            webhook_retention_days=int(env.get("CMS_WEBHOOK_RETENTION_DAYS", "30")),
            article_url=env.get("CMS_ARTICLE_URL") or None,
            site_url=env.get("CMS_SITE_URL") or None,
            publisher_name=env.get("CMS_PUBLISHER_NAME", "Newsroom"),
            publisher_logo_url=env.get("CMS_PUBLISHER_LOGO_URL") or None,
            planner=env.get("CMS_PLANNER", "on").lower(),
        )


def _listed(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _on(value: str) -> bool:
    return value.lower() not in ("0", "false", "no", "off")
