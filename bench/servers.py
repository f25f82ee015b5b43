"""Real servers on loopback for the benchmark and the tests that need a process of their own (Node clients,
Varnish): each on a free port of 127.0.0.1, healthy before it is used and stopped whatever happens."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
CMS_SERVER = [str(Path(sys.executable).parent / "cms"), "serve"]  # as `make run` serves it
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(
    command: list[str], env: dict[str, str], log: Path, *, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`command` serving on `port` (else a free one; it reads CMS_PORT), with its output in `log`."""
    port = port or free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            env={**env, "CMS_PORT": str(port)},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server, port
    finally:
        stop(server)


def healthy(port: int, timeout: float = 2) -> bool:
    with contextlib.suppress(OSError, http.client.HTTPException):
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    return False


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
