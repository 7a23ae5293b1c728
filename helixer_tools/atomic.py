"""Outputs appear whole or not at all: every tool writes under a temporary name beside the output and renames
it into place only when the writing succeeded."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from .errors import UserError


def check_folder(path: str | Path) -> None:
    """Refuse, in one line, an output whose directory does not exist (tools check before long work)."""
    if not Path(path).resolve().parent.is_dir():
        raise UserError(f"{path}: the directory to write it in does not exist")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to; renamed to ``path`` when the block ends
    without an exception, removed otherwise."""
    path = Path(path)
    check_folder(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
