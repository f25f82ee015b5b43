"""A real streaming replica of the suite's PostgreSQL on loopback, for `tests/test_replicas.py`: a second
cluster made by `pg_basebackup -R -X stream` from the primary into a temporary directory, started on a free
port with the primary's own binaries, stopped and removed afterwards. The primary must accept replication
connections from loopback (`.ci/run` adds `host replication all 127.0.0.1/32 trust` to its pg_hba.conf).
Run as root, the cluster's programs run as the `postgres` user, as the server refuses root."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SERVER_USER = "postgres"
"""Who runs the cluster's programs when the tests run as root."""
DEADLINE = 60
"""Seconds a backup, a start, a stop or a replay may take."""
AT_LEAST_THE_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
"""A hot standby refuses to start with less of these than its primary has."""


class ReplicaUnavailable(Exception):
    """The replica could not be made: the message says which step failed, and how."""


@dataclass
class Replica:
    """A running hot standby of `primary` (a plain postgresql:// URL) on `port`."""

    primary: str
    port: int
    data: Path
    bin: Path

    def url(self, database: str) -> str:
        """`database` on the replica, as a plain URL (the primary's user, here on loopback)."""
        return _with(self.primary, address=f"127.0.0.1:{self.port}", database=database)

    def start(self) -> None:
        log = self.data / "server.log"
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", str(DEADLINE), "start")
        except ReplicaUnavailable as failed:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ReplicaUnavailable(f"{failed}\n{tail}") from None

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(DEADLINE), "-m", "fast", "stop")

    async def pause(self) -> None:
        """Stop replaying (the primary's commits still arrive, and are applied on `resume`), and return once
        it has: each look is a round trip, no sleep, and it fails past `DEADLINE`."""
        replica = await asyncpg.connect(self.url("postgres"))
        try:
            await replica.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + DEADLINE
            while (state := await replica.fetchval("SELECT pg_get_wal_replay_pause_state()")) != "paused":
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica's replay is {state!r}, not paused")
        finally:
            await replica.close()

    async def resume(self) -> None:
        replica = await asyncpg.connect(self.url("postgres"))
        try:
            await replica.execute("SELECT pg_wal_replay_resume()")
        finally:
            await replica.close()

    async def caught_up(self) -> None:
        """Return once the replica has replayed everything the primary has written so far: each look is a
        round trip, no sleep, and it fails past `DEADLINE`."""
        primary = await asyncpg.connect(self.primary)
        replica = await asyncpg.connect(self.url("postgres"))
        try:
            written = await primary.fetchval("SELECT pg_current_wal_lsn()")
            deadline = time.monotonic() + DEADLINE
            while (replayed := await replica.fetchval("SELECT pg_last_wal_replay_lsn()")) < written:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica replayed up to {replayed}, not {written}")
        finally:
            await primary.close()
            await replica.close()

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE + 10, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:  # a program missing, or hung past its own wait
            raise ReplicaUnavailable(f"{' '.join(command)} failed: {error}") from None
        if done.returncode != 0:
            said = done.stderr.strip() or done.stdout.strip()
            raise ReplicaUnavailable(f"{' '.join(command)} failed: {said}")


@contextlib.contextmanager
def streaming_replica(primary: str) -> Iterator[Replica]:
    """A replica of `primary` (a plain postgresql:// URL, its superuser), running while the block runs."""
    settings = _primary_settings(primary)
    data = Path(tempfile.mkdtemp(prefix="cms-replica-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(data, SERVER_USER, SERVER_USER)
        replica = Replica(primary, _free_port(), data, _binaries(int(settings.pop("server_version_num"))))
        backup = ("-d", _with(primary, database=""), "-D", str(data), "-R", "-X", "stream", "-c", "fast")
        replica._run("pg_basebackup", *backup)
        _configure(replica, settings)
        replica.start()
        try:
            yield replica
        finally:
            with contextlib.suppress(ReplicaUnavailable):  # stopped already (a test stops it)
                replica.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _configure(replica: Replica, settings: dict[str, str]) -> None:
    """Its own port, loopback only, its sockets in its directory, and what a standby needs of the
    primary's settings; on Debian the primary's configuration files live outside its data directory, so
    the backup has none and these are all there is (a copied postgresql.conf is overridden, being read
    first)."""
    lines = {
        "port": str(replica.port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{replica.data}'",
        "hot_standby": "on",
        **settings,
    }
    with (replica.data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in lines.items())
    hba = replica.data / "pg_hba.conf"
    if not hba.exists():
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    (replica.data / "pg_ident.conf").touch()
    if os.geteuid() == 0:
        for path in replica.data.iterdir():
            shutil.chown(path, SERVER_USER, SERVER_USER)


def _primary_settings(primary: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        connection = await asyncpg.connect(primary)
        try:
            names = ("server_version_num", *AT_LEAST_THE_PRIMARY)
            return {name: await connection.fetchval(f"SELECT current_setting('{name}')") for name in names}
        finally:
            await connection.close()

    try:
        return asyncio.run(read())
    except (OSError, asyncpg.PostgresError) as error:
        raise ReplicaUnavailable(f"the primary at {primary} cannot be reached: {error}") from None


def _binaries(version_num: int) -> Path:
    """The programs of the primary's major version: Debian's directory for it, else those on PATH."""
    debian = Path(f"/usr/lib/postgresql/{version_num // 10000}/bin")
    if (debian / "pg_ctl").exists():
        return debian
    found = shutil.which("pg_ctl")
    if found is None:
        raise ReplicaUnavailable("no pg_ctl: install the PostgreSQL server's programs")
    return Path(found).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _with(url: str, *, address: str | None = None, database: str | None = None) -> str:
    """`url` with another host:port (its user kept), or another database."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if address is not None:
        userinfo, at, _ = netloc.rpartition("@")
        netloc = f"{userinfo}{at}{address}"
    path = parts.path if database is None else f"/{database}"
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
