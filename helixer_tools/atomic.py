"""Outputs appear whole or not at all: every tool writes under a temporary name beside the output and renames
it into place only when the writing succeeded. Inside :func:`together` (every command runs in one), a run's
outputs are renamed into place together when the run succeeds, and none appears when it fails or is
cancelled."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Iterator

from .errors import UserError

_pending: list[dict[Path, Path]] = []  # stack of groups: output -> its temporary file
_user_names: dict[str, str] = {}  # temporary file -> the output it stands for, for error messages


def check_folder(path: str | Path) -> None:
    """Refuse, in one line, an output whose directory does not exist (tools check before long work)."""
    if not Path(path).resolve().parent.is_dir():
        raise UserError(f"{path}: the directory to write it in does not exist")


def check_output(path: str | Path) -> None:
    """Refuse, before any work, an output that cannot be written: a directory, or in a missing or read-only one."""
    check_folder(path)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory; give a file name")
    folder = Path(path).resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        raise UserError(f"{path}: cannot write in its directory "
                        f"({'read-only file system' if read_only else 'permission denied'})")


_TMP_NAME = re.compile(r"\.(.+)\.tmp-\d+(\.[^.]*)?")


def user_name(name: str) -> str:
    """The output path a temporary file stands for (``name`` itself when it is not one), also once the
    temporary file is gone (an error names it after atomic_path removed it): ``.stem.tmp-PID.suffix``."""
    name = str(name)
    if name in _user_names:
        return _user_names[name]
    path = Path(name)
    base = path.name
    while (m := _TMP_NAME.fullmatch(base)) is not None:  # nested: a group's temporary file of a temporary file
        base = m.group(1) + (m.group(2) or "")
    return str(path.with_name(base)) if base != path.name else name


@contextlib.contextmanager
def together() -> Iterator[None]:
    """Outputs written with :func:`atomic_path` inside the block are renamed into place when the block ends
    without an exception; on an exception (an error, Ctrl-C, SIGTERM) none of them appears."""
    group: dict[Path, Path] = {}
    _pending.append(group)
    try:
        yield
        for path, tmp in group.items():
            os.replace(tmp, path)
    finally:
        _pending.remove(group)
        for tmp in group.values():
            tmp.unlink(missing_ok=True)
            _user_names.pop(str(tmp), None)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) to write to. When the block ends without an exception it
    is renamed to ``path``, or, inside :func:`together`, kept for the group's rename; otherwise it is removed.
    Writing the same output twice in a group (a checkpoint) keeps the last version."""
    path = Path(path)
    check_output(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    _user_names[str(tmp)] = str(path)
    group = _pending[-1] if _pending else None
    done = False
    try:
        yield tmp
        if group is not None:
            group[path] = tmp
        else:
            os.replace(tmp, path)
        done = True
    finally:
        if not done or group is None:
            tmp.unlink(missing_ok=True)
            _user_names.pop(str(tmp), None)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
