"""The app as its users run it, for tests whose peers are processes of their own (Node's clients, Varnish):
`cms serve` on a free loopback port over the test's database. In CI a peer that is missing fails the test;
elsewhere it skips it."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.servers import CMS_SERVER, HOST, serving
from tests.conftest import IN_CI


@contextlib.contextmanager
def live_cms(engine: AsyncEngine, logs: Path, *, port: int | None = None, **settings: str) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of `cms serve` over `engine`'s database, with CMS_* `settings`,
    on `port` when a peer must know it beforehand (Varnish's backend), else on a free one."""
    env = {
        **os.environ,
        "CMS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CMS_HOST": HOST,
        "CMS_LOG_LEVEL": "warning",
        **settings,
    }
    with serving(CMS_SERVER, env, logs / "cms.log", port=port) as (_server, bound):
        yield f"http://{HOST}:{bound}"


def required(command: str) -> str:
    """The path of `command`, which the test needs: a failure in CI (`.ci/run` installs it), else a skip."""
    path = shutil.which(command)
    if path is None:
        message = f"{command} is not installed (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
