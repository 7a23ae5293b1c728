"""Streaming FASTA reading (plain, gzip, bgzip, xz or bzip2) with bounded memory.

Sequences are never held whole: the reader yields a record's header, then its sequence in pieces of
at most one read block, so a chromosome of any size costs the same memory as a short contig.
``scan`` makes a first, cheap pass that validates the whole file and learns every record's length
before any output is written.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from zlib_ng import gzip_ng, zlib_ng

from .encoding import VALID_BASES, WHITESPACE
from .errors import UserError

BLOCK_SIZE = 1 << 22
MAX_HEADER_BYTES = 1 << 20

# compressions read transparently (recognised by content, not name) and those refused with advice
_COMPRESSIONS = {b"\x1f\x8b": "gzip", b"\xfd7zXZ\x00": "xz", b"BZh": "bzip2"}
_REFUSED = {b"\x28\xb5\x2f\xfd": "zstd-compressed: decompress it first (zstd -d)",
            b"PK\x03\x04": "a zip archive: unzip it first"}
_UPPER = bytes.maketrans(b"acgtnyrwskmdvhb", b"ACGTNYRWSKMDVHB")
_NOT_BASES = bytes(sorted(set(range(256)) - set(VALID_BASES) - set(WHITESPACE)))


@dataclass(frozen=True)
class Record:
    """One FASTA record as found by ``scan``."""

    index: int  # 1-based record number in the file
    seqid: str  # first whitespace-separated token of the header
    length: int  # number of bases
    sha1: str = ""  # of the upper-case bases, as GeenuFF records it: tells files of the same genome apart


def compression(path: str | Path) -> str | None:
    """The compression of a file judged by its content ('gzip' also for bgzip, 'xz', 'bzip2'), or None."""
    with open(path, "rb") as fh:
        return _compression_of(fh.read(6))


def _compression_of(head: bytes) -> str | None:
    return next((name for magic, name in _COMPRESSIONS.items() if head.startswith(magic)), None)


class _Decompressed(io.RawIOBase):
    """A decompressing reader whose truncated or corrupt data is one error naming the file, not a traceback."""

    def __init__(self, path: str | Path, kind: str, fh, raw: BinaryIO):
        self.path, self.kind, self.fh, self.raw = path, kind, fh, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self.fh.readinto(buffer)
        except (EOFError, OSError, ValueError, zlib_ng.error, lzma.LZMAError) as e:
            raise UserError(f"{self.path}: the {self.kind} data is truncated or corrupt ({e})") from None

    def close(self) -> None:
        self.fh.close()
        self.raw.close()  # the decompressors leave the file they were given open
        super().close()


UTF8_BOM = b"\xef\xbb\xbf"  # Windows editors start text files with it


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for binary reading, decompressing gzip/bgzip, xz or bzip2 transparently (by content), past a
    UTF-8 byte-order mark at its start."""
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise UserError(f"{path}: cannot open: {e.strerror}") from None
    head = fh.peek(6)[:6]
    for magic, advice in _REFUSED.items():
        if head.startswith(magic):
            fh.close()
            raise UserError(f"{path}: is {advice}")
    kind = _compression_of(head)
    if kind is not None:
        opener = {"gzip": lambda f: gzip_ng.GzipFile(fileobj=f, mode="rb"), "xz": lzma.LZMAFile, "bzip2": bz2.BZ2File}
        fh = io.BufferedReader(_Decompressed(path, kind, opener[kind](fh), fh), BLOCK_SIZE)
    if fh.peek(3)[:3] == UTF8_BOM:
        fh.read(3)
    return fh


def text_lines(path: str | Path, what: str = "text", complete: bool = False) -> Iterator[tuple[int, str]]:
    """(line number, line without its end, CRLF or LF) of a text file, compressed or not, past a byte-order
    mark; bytes that are not UTF-8 are an error naming the file and line (``what`` says what it should be).
    ``complete``: a last line without its newline is an error (a file cut off mid-line, as a full disk or an
    interrupted copy leaves it, is not read as if it were whole)."""
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            if complete and not raw.endswith(b"\n"):
                raise UserError(f"{path}: line {number}: the file ends mid-line, without a newline: cut off? (a "
                                f"complete {what} file ends with one)")
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise UserError(f"{path}: line {number}: not UTF-8 text (is this a {what} file?)") from None


class FastaReader:
    """Iterate over a FASTA file as (header, pieces) without ever holding a whole sequence.

    ``records()`` yields ``(index, header_bytes)``; between two yields, ``pieces()`` yields the
    current record's sequence as raw byte pieces (newlines and case still present).
    """

    def __init__(self, path: str | Path, block_size: int = BLOCK_SIZE):
        self.path = str(path)
        self.block_size = block_size

    def events(self) -> Iterator[tuple[str, bytes]]:
        """Yield ('header', text) and ('seq', raw bytes) events in file order."""
        with open_binary(self.path) as fh:
            yield from self._events(fh)

    def _read(self, fh: BinaryIO) -> bytes:
        try:
            return fh.read(self.block_size)
        except OSError as e:  # a failing disk; bad compressed data is reported by open_binary
            raise UserError(f"{self.path}: cannot read: {e}") from None

    def _events(self, fh: BinaryIO) -> Iterator[tuple[str, bytes]]:
        at_line_start = True
        header: list[bytes] | None = None  # not None while inside a header line
        header_size = 0
        while block := self._read(fh):
            pos, n = 0, len(block)
            while pos < n:
                if header is not None:
                    nl = block.find(b"\n", pos)
                    part = block[pos : n if nl < 0 else nl]
                    header.append(part)
                    header_size += len(part)
                    if header_size > MAX_HEADER_BYTES:
                        raise UserError(f"{self.path}: a header line is longer than {MAX_HEADER_BYTES} bytes")
                    if nl < 0:
                        pos = n
                        continue
                    yield "header", b"".join(header).rstrip(b"\r")
                    header, at_line_start, pos = None, True, nl + 1
                    continue
                if at_line_start and block[pos] == 0x3E:  # '>'
                    header, header_size, pos = [], 0, pos + 1
                    continue
                idx = block.find(b"\n>", pos)
                end = n if idx < 0 else idx + 1
                yield "seq", block[pos:end]
                at_line_start = block[end - 1] == 0x0A
                pos = end
        if header is not None:
            yield "header", b"".join(header).rstrip(b"\r")


def clean(piece: bytes) -> bytes:
    """Remove whitespace and upper-case a raw sequence piece."""
    return piece.translate(_UPPER, WHITESPACE)


def _seqid(path: str, index: int, header: bytes) -> str:
    fields = header.split()
    if not fields:
        raise UserError(f"{path}: record {index} has an empty header (no sequence id after '>')")
    try:
        return fields[0].decode("ascii")
    except UnicodeDecodeError:
        raise UserError(f"{path}: record {index}: sequence id {fields[0]!r} is not ASCII") from None


def scan(path: str | Path, max_seqid_bytes: int | None = None) -> list[Record]:
    """Validate a whole FASTA file and return its records with their lengths.

    Raises ``UserError`` for: a file that is not FASTA, no records, an empty header or sequence,
    duplicate ids, characters that are not IUPAC nucleotide codes (naming record and position), and
    ids longer than ``max_seqid_bytes``.
    """
    path = str(path)
    records: list[Record] = []
    seen: dict[str, int] = {}
    seqid, length, digest = None, 0, hashlib.sha1()

    def close() -> None:
        if seqid is None:
            return
        if length == 0:
            raise UserError(f"{path}: record {len(records) + 1} ({seqid}) has an empty sequence")
        records.append(Record(len(records) + 1, seqid, length, digest.hexdigest()))

    for kind, data in FastaReader(path).events():
        if kind == "header":
            close()
            index = len(records) + 1
            seqid, length, digest = _seqid(path, index, data), 0, hashlib.sha1()
            if seqid in seen:
                raise UserError(
                    f"{path}: duplicate sequence id {seqid!r} (records {seen[seqid]} and {index}); "
                    "sequence ids must be unique"
                )
            if max_seqid_bytes is not None and len(seqid) > max_seqid_bytes:
                raise UserError(
                    f"{path}: record {index}: sequence id {seqid!r} is {len(seqid)} characters, "
                    f"longer than the {max_seqid_bytes} the h5 format holds; shorten the ids, e.g. with the "
                    "map helixer-fasta2h5 --rename-map writes (upstream would truncate them silently)"
                )
            seen[seqid] = index
            continue
        if seqid is None:
            if data.strip():
                raise UserError(f"{path}: not a FASTA file: the first line does not start with '>'")
            continue
        if data.translate(None, _NOT_BASES) != data:
            cleaned = clean(data)
            bad = next(i for i, b in enumerate(cleaned) if b in _NOT_BASES)
            raise UserError(
                f"{path}: record {len(records) + 1} ({seqid}), position {length + bad + 1}: "
                f"character {chr(cleaned[bad])!r} is not an IUPAC nucleotide code"
            )
        bases = clean(data)
        length += len(bases)
        digest.update(bases)
    close()
    if not records:
        raise UserError(f"{path}: not a FASTA file: no '>' header found")
    return records


def shortened(seqids: list[str], limit: int) -> dict[str, str]:
    """Short h5 ids for the ids longer than ``limit`` bytes: the first ``limit`` characters (as upstream
    truncates them, so helixer-post --fasta finds the full names too) when that is unique, else the first
    ``limit - 9`` and ``~`` and 8 hex digits of the id's SHA-1."""
    long = [s for s in seqids if len(s.encode()) > limit]
    taken = {s for s in seqids if len(s.encode()) <= limit}
    cut = [s.encode()[:limit].decode(errors="ignore") for s in long]
    counts = {c: cut.count(c) for c in cut}
    out = {}
    for s, c in zip(long, cut):
        if counts[c] > 1 or c in taken:
            c = s.encode()[: limit - 9].decode(errors="ignore") + "~" + hashlib.sha1(s.encode()).hexdigest()[:8]
        out[s] = c
        taken.add(c)
    return out


def iter_sequences(path: str | Path) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Yield ``(seqid, pieces)`` per record; pieces are cleaned, upper-case sequence bytes.

    Assumes the file has passed ``scan``. A record's pieces not consumed by the caller are skipped.
    """
    events = FastaReader(path).events()
    header = next((data for kind, data in events if kind == "header"), None)
    while header is not None:
        current, header = header, None

        def pieces() -> Iterator[bytes]:
            nonlocal header
            for kind, data in events:
                if kind == "header":
                    header = data
                    return
                if piece := clean(data):
                    yield piece

        record_pieces = pieces()
        yield current.split()[0].decode("ascii"), record_pieces
        for _ in record_pieces:  # skip what the caller left unread
            pass
