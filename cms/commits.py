"""Whether a SQLite file in WAL mode has had a commit since a moment, with no statement: its WAL-index header
(https://www.sqlite.org/walformat.html, "The WAL-Index Header"), the first bytes of its `-shm` file, which
every connection to the file maps, in every process, and which each commit rewrites (its change counter, its
last frame, its checksums). A reader that begins after a look at it sees that commit or a later one, so an
answer read then holds for as long as the header has not changed. A statement's own read transaction takes
the shared memory's locks, which cost a kept answer more than the rest of its check."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

HEADER = 48
"""Bytes of one copy of the header. The file holds two, one after the other: a commit writes the second,
then the first, and a reader that finds them different is looking while one is written."""
VERSION = 3007000
"""The header's iVersion: the WAL-index format of every SQLite since 3.7.0."""
_INITIALISED = 12
"""The offset of isInit, 1 once a connection has built the index."""


class Commits:
    """The WAL-index header of one SQLite file, mapped read-only on first use. Its owner keeps a connection
    to the file open while it uses it: SQLite removes the `-shm` file when the last connection closes."""

    def __init__(self, database: str) -> None:
        self.path = Path(f"{database}-shm")
        self._mapped: mmap.mmap | None = None

    def mark(self) -> bytes | None:
        """The header now: two equal marks mean no commit in between. None when it cannot tell (no index
        yet, a copy being written, or a format it does not know): the caller reads the database."""
        if self._mapped is None:
            try:
                with self.path.open("rb") as file:
                    self._mapped = mmap.mmap(file.fileno(), 2 * HEADER, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # not there yet, or shorter than two headers
                return None
        both = self._mapped[: 2 * HEADER]
        first = both[:HEADER]
        if first != both[HEADER:] or first[_INITIALISED] != 1:
            return None
        if int.from_bytes(first[:4], sys.byteorder) != VERSION:
            return None
        return first

    def close(self) -> None:
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None
