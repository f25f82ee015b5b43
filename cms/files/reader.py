"""Read content files and folders into records, in name order, each with its file and line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cms.content.forms import NUL, NUL_MESSAGE, nul_errors
from cms.content.records import ArticleRecord
from cms.files.errors import ContentFileError
from cms.files.ndjson import Record, read_ndjson
from cms.files.records import record_from_front_matter

SUFFIXES = (".md", ".txt", ".ndjson")


@dataclass(frozen=True)
class LoadedRecord:
    path: Path
    line: int
    record: Record


def content_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files to import: given files as they are, folders' files in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        elif path.suffix in SUFFIXES:
            yield path
        elif path.exists():
            raise ContentFileError(path, 1, f"unsupported file type {path.suffix!r} (.md, .txt or .ndjson)")
        else:
            raise ContentFileError(path, 1, "no such file or folder")


def read_records(paths: Iterable[Path]) -> list[LoadedRecord]:
    """Read every record first, so a bad file stops the import before anything is written."""
    return [loaded for path in content_files(paths) for loaded in _read(path)]


def _read(path: Path) -> Iterable[LoadedRecord]:
    if path.suffix == ".ndjson":
        return [LoadedRecord(path, line, record) for line, record in read_ndjson(path)]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentFileError(path, 1, f"cannot read: {error}") from error
    _refuse_nul(path, text)
    return [_read_markdown(path, text) if path.suffix == ".md" else _read_capture(path, text)]


def _refuse_nul(path: Path, text: str) -> None:
    """A NUL anywhere in a file is an error at its line: no text column can store one (PostgreSQL's
    statement would fail), and a file that holds one is rarely text at all."""
    at = text.find(NUL)
    if at >= 0:
        raise ContentFileError(path, text.count("\n", 0, at) + 1, f"the line {NUL_MESSAGE}")


def _read_markdown(path: Path, text: str) -> LoadedRecord:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ContentFileError(path, 1, "a .md article starts with a '---' front-matter block")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ContentFileError(path, 1, "the front matter is not closed by a '---' line") from None
    meta = _yaml(path, "\n".join(lines[1:end]), first_line=2)
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    return LoadedRecord(path, 1, record_from_front_matter(meta, body, path=path, line=1))


def _read_capture(path: Path, text: str) -> LoadedRecord:
    """A plain-text capture: breadcrumbs, the title (repeated once), paragraphs, 'About <author>'."""
    lines = [line.rstrip() for line in text.splitlines()]
    crumbs = [crumb.strip() for crumb in lines[0].split(" / ")] if lines else []
    if len(crumbs) < 2 or crumbs[0] != "Home":
        raise ContentFileError(
            path, 1, "a capture starts with breadcrumbs 'Home / <Category> / ... / <Title>'"
        )
    title = crumbs[-1]
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest.pop(0)
    if rest and rest[0].strip() == title:
        rest.pop(0)
    while rest and not rest[-1].strip():
        rest.pop()
    authors: list[str] = []
    if rest and rest[-1].startswith("About "):
        authors = [rest.pop()[len("About ") :].strip()]
    paragraphs = "\n".join(rest).split("\n\n")
    body = "\n\n".join(p.strip() for p in paragraphs if p.strip()) + "\n"
    record = ArticleRecord(title=title, body=body, category=crumbs[1:-1] or None, authors=authors)
    sidecar = path.with_suffix(".yaml")
    if sidecar.exists():
        text = sidecar.read_text(encoding="utf-8")
        _refuse_nul(sidecar, text)
        meta = _yaml(sidecar, text, first_line=1)
        record = record_from_front_matter(meta, body, path=sidecar, line=1, base=record)
    return LoadedRecord(path, 1, record)


def _yaml(path: Path, text: str, *, first_line: int) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + mark.line if mark else first_line
        raise ContentFileError(path, line, f"bad YAML: {getattr(error, 'problem', error)}") from error
    if not isinstance(meta, dict):
        raise ContentFileError(path, first_line, "front matter must be a mapping of fields")
    if nul := nul_errors(meta):  # written as an escape ("\0", "\x00", "\u0000") in a quoted string
        line = first_line + _nul_line(text)
        raise ContentFileError(path, line, f"{'.'.join(nul[0].field)} {NUL_MESSAGE}")
    return meta


def _nul_line(text: str) -> int:
    """The first line (from 0) of a YAML text with a scalar that holds NUL."""
    lines, stack = [], [yaml.compose(text, Loader=yaml.SafeLoader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if NUL in node.value:
                lines.append(node.start_mark.line)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
    return min(lines, default=0)
