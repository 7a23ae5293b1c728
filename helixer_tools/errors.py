"""The one exception type for problems the user can fix (bad input, bad options), and how a full disk is
recognised however it surfaces.

CLIs catch it and print its message as a single line on stderr with a non-zero exit code;
everything else is a bug and keeps its traceback.
"""

import errno
import re


class UserError(Exception):
    """A problem with the user's input or options; the message names file, record and problem."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# a full disk, a quota or a read-only file system, however it surfaces: an OSError's errno, or the text of
# HDF5's (errno = 28 ...) or SQLite's ("database or disk is full") errors
DISK_ERRORS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system"}
_DISK_TEXTS = (("No space left on device", errno.ENOSPC), ("errno = 28,", errno.ENOSPC),
               ("database or disk is full", errno.ENOSPC), ("Disk quota exceeded", errno.EDQUOT),
               ("errno = 122,", errno.EDQUOT), ("Read-only file system", errno.EROFS), ("errno = 30,", errno.EROFS))
_HDF5_FILENAME = re.compile(r"filename = '([^']+)'")


def disk_error(e: BaseException) -> "tuple[int, str | None] | None":
    """(errno, the file it names or None) when ``e`` or an exception it came from is a full disk, a quota or
    a read-only file system; None otherwise."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = str(e)
        code = e.errno if isinstance(e, OSError) and e.errno in DISK_ERRORS else \
            next((c for t, c in _DISK_TEXTS if t in text), None)
        if code is not None:
            named = _HDF5_FILENAME.search(text)
            return code, (e.filename if isinstance(e, OSError) and e.filename else None) or \
                (named.group(1) if named else None)
        e = e.__cause__ or e.__context__
    return None
