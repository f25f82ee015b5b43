from pathlib import Path

import pytest

from cms.settings import Settings, async_database_url


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("sqlite:///var/cms.db", "sqlite+aiosqlite:///var/cms.db"),
        ("sqlite:////abs/cms.db", "sqlite+aiosqlite:////abs/cms.db"),
        ("postgresql://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgres://user:pw@host:5433/db", "postgresql+asyncpg://user:pw@host:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_database_urls_get_the_async_driver(plain: str, expected: str) -> None:
    assert async_database_url(plain) == expected


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url"])
def test_unsupported_database_urls_are_refused_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match="CMS_DATABASE_URL"):
        async_database_url(bad)


def test_settings_come_from_cms_variables() -> None:
    settings = Settings.from_env(
        {"CMS_DATABASE_URL": "postgresql://x@y/z", "CMS_PORT": "9000", "CMS_SEEDS": "s"}
    )
    assert settings.async_database_url == "postgresql+asyncpg://x@y/z"
    assert settings.port == 9000
    assert settings.seeds_path == Path("s")
    assert Settings.from_env({}).database_url == "sqlite:///var/cms.db"


def test_sqlite_read_connections_map_2_gib_unless_told_otherwise() -> None:
    assert Settings.from_env({}).sqlite_mmap_mib == 2048
    assert Settings.from_env({"CMS_SQLITE_MMAP_MIB": "0"}).sqlite_mmap_mib == 0
    with pytest.raises(ValueError, match="CMS_SQLITE_MMAP_MIB"):
        Settings.from_env({"CMS_SQLITE_MMAP_MIB": "-1"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CMS_RATE_LIMIT", "fast"),
        ("CMS_RATE_LIMIT", "0/second"),
        ("CMS_TRUSTED_PROXIES", "10.0.0.0/8, the proxy"),
        ("CMS_MAX_COST", "0"),
        ("CMS_MAX_BODY_KIB", "-1"),
        ("CMS_DOCUMENTS", "closed"),
        ("CMS_PURGE_URL", "varnish:6081"),
        ("CMS_CACHE_S_MAXAGE", "-5"),
    ],
)
def test_delivery_settings_are_checked_when_read(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})


def test_delivery_settings_default_to_what_make_run_serves() -> None:
    settings = Settings.from_env({"CMS_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "CMS_RATE_LIMIT": "50/second"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert (settings.rate_limit, settings.max_cost, settings.max_cost_token) == ("50/second", 10_000, 100_000)
    assert (settings.max_body_kib, settings.statement_timeout_ms, settings.introspection) == (
        1024,
        5000,
        True,
    )
    assert (settings.cache_max_age, settings.cache_s_maxage, settings.cache_swr) == (10, 60, 30)
    assert (settings.response_cache_mib, settings.documents, settings.purge_url) == (64, "open", None)
