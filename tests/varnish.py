"""A real Varnish (deploy/varnish/cms.vcl, with the xkey vmod) in front of a server on loopback, for the
tests of the delivery edge: started on a port of its own, answering before it is used, and stopped whatever
happens, within bounded time."""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench.servers import HOST, ROOT, free_port, stop
from tests.live import required

VCL = ROOT / "deploy" / "varnish" / "cms.vcl"
BACKEND_PORT = '.port = "8000";'
"""The backend's port in the VCL, as users run it; each test's copy names its own server's."""
START_TIMEOUT = 30  # seconds: compiling the VCL (cc) takes most of the start


@contextlib.contextmanager
def varnish(backend_port: int, workdir: Path, *, port: int | None = None) -> Iterator[str]:
    """The base URL of a Varnish on `port` (else a free one) in front of 127.0.0.1:`backend_port`; its
    files, VCL copy and log in `workdir`. The backend need not be up yet."""
    binary = required("varnishd")
    port = port or free_port()
    source = VCL.read_text()
    assert source.count(BACKEND_PORT) == 1, f"{VCL} no longer names its backend port as {BACKEND_PORT}"
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "cms.vcl"
    vcl.write_text(source.replace(BACKEND_PORT, f'.port = "{backend_port}";'))
    log = workdir / "varnishd.log"
    command = [
        binary,
        "-F",  # in the foreground: the test owns the process and its stop
        "-n", str(workdir / "instance"),
        "-a", f"{HOST}:{port}",
        "-f", str(vcl),
        "-s", "malloc,64m",
        "-T", "none",  # no management port: nothing listens but `-a`
        "-j", "none",  # no jail: as root it would switch to the varnish user, who cannot read pytest's tmp
        "-p", "thread_pools=1",  # a test needs a handful of threads, not the default 2 x 100 at start
        "-p", "thread_pool_min=10",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"varnishd did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield f"http://{HOST}:{port}"
    finally:
        stop(process)  # SIGTERM to its process group (manager and child), SIGKILL after 10 s


def answers(port: int) -> bool:
    """Whether Varnish answers at all: a PURGE naming no keys, which the VCL answers itself (400, or 403 to
    a non-purger) with or without a backend, and which leaves nothing in the cache."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("PURGE", "/")
            connection.getresponse()
            return True
        finally:
            connection.close()
    return False
