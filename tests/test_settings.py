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
