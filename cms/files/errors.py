"""An import error always names the file and line it came from."""

from __future__ import annotations

from pathlib import Path


class ContentFileError(Exception):
    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message
