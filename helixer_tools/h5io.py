"""The Helixer-compatible HDF5 contract: row layout, dataset creation, atomic output, provenance.

Layout (upstream fasta2h5/geenuff2h5): every sequence is cut into subsequences of L bp; its rows are
all plus-strand chunks 5'->3', then the minus-strand chunks 5'->3' (the same intervals in reverse
order, reverse-complemented). The short last chunk is zero-padded at the end of the array on both
strands. ``data/start_ends`` holds [start, end) on the plus strand and [end, start) on the minus strand.

Datasets are chunked one row per HDF5 chunk with ``maxshape=(None, ...)``, gzip (level 4) or lzf, and
byte shuffling when they have more than one dimension, as upstream writes them.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import h5py
import numpy as np
from zlib_ng import zlib_ng

from . import __version__
from .atomic import atomic_path, user_name
from .errors import UserError, disk_error

T = TypeVar("T")

DEFAULT_SUBSEQUENCE_LENGTH = 21384
POOL_SIZE = 9
SEQID_BYTES = 50
SPECIES_BYTES = 25
SEQUENCES = "sequences"  # one row per genome sequence: its id and the SHA-1 of its upper-case bases (GeenuFF's)
COMPRESSIONS = ("gzip", "lzf")
DEFAULT_GZIP_LEVEL = 4


def check_subsequence_length(length: int) -> int:
    """Refuse subsequence lengths that the model cannot pool (not a positive multiple of 9)."""
    if length <= 0 or length % POOL_SIZE:
        raise UserError(
            f"subsequence length {length} is not a positive multiple of {POOL_SIZE} "
            f"(the model pools {POOL_SIZE} bp into one step); try {max(POOL_SIZE, length // POOL_SIZE * POOL_SIZE)}"
        )
    return length


def check_name(kind: str, name: str, limit: int) -> bytes:
    """Encode a species/seqid for a fixed-width field, refusing what would be truncated."""
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        raise UserError(f"{kind} {name!r} is not ASCII") from None
    if not raw:
        raise UserError(f"{kind} is empty")
    if len(raw) > limit:
        raise UserError(
            f"{kind} {name!r} is {len(raw)} characters, longer than the {limit} the h5 format holds "
            "(upstream would truncate it silently)"
        )
    return raw


@dataclass(frozen=True)
class SequenceRows:
    """Where one sequence's chunks live in the file."""

    seqid: str
    length: int
    first_row: int  # row of the first plus-strand chunk
    n_chunks: int  # chunks per strand

    def plus_row(self, k: int) -> int:
        return self.first_row + k

    def minus_row(self, k: int) -> int:
        """Row of the minus-strand chunk covering the same bases as plus chunk ``k``."""
        return self.first_row + 2 * self.n_chunks - 1 - k

    def bounds(self, k: int, subsequence_length: int) -> tuple[int, int]:
        start = k * subsequence_length
        return start, min(start + subsequence_length, self.length)


def layout(sequences: Iterable[tuple[str, int]], subsequence_length: int) -> list[SequenceRows]:
    """Row layout of (seqid, length) pairs in file order."""
    rows, first = [], 0
    for seqid, length in sequences:
        n = -(-length // subsequence_length)
        rows.append(SequenceRows(seqid, length, first, n))
        first += 2 * n
    return rows


def start_ends(seqs: Sequence[SequenceRows], subsequence_length: int) -> np.ndarray:
    """The (N, 2) int64 ``data/start_ends`` of a layout."""
    parts = []
    for s in seqs:
        starts = np.arange(s.n_chunks, dtype=np.int64) * subsequence_length
        ends = np.minimum(starts + subsequence_length, s.length)
        plus = np.stack([starts, ends], axis=1)
        parts += [plus, plus[::-1, ::-1]]
    return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)


def per_row(seqs: Sequence[SequenceRows], values: Sequence) -> np.ndarray:
    """Repeat one value per sequence over that sequence's rows (both strands)."""
    return np.repeat(np.asarray(values), [2 * s.n_chunks for s in seqs])


@dataclass
class RowsOf:
    """The rows of one sequence in an existing h5 file: plus[k] and minus[k] hold subsequence k."""

    seqid: str
    length: int
    plus: np.ndarray
    minus: np.ndarray


def rows_by_sequence(path: str, seqids: np.ndarray, ends: np.ndarray, subsequence_length: int) -> dict[str, RowsOf]:
    """Map every row of a Helixer h5 (``data/seqids``, ``data/start_ends``) to its sequence, strand and
    subsequence, checking that each subsequence of each strand is there exactly once."""
    L = subsequence_length
    names = [s.decode() for s in seqids]
    lengths: dict[str, int] = {}
    for name, (a, b) in zip(names, ends.tolist()):
        lengths[name] = max(lengths.get(name, 0), a, b)
    out = {name: RowsOf(name, n, np.full(-(-n // L), -1), np.full(-(-n // L), -1)) for name, n in lengths.items()}
    for row, (name, (a, b)) in enumerate(zip(names, ends.tolist())):
        seq = out[name]
        lo, hi, target = (a, b, seq.plus) if a < b else (b, a, seq.minus)
        k = lo // L
        if lo % L or hi != min(lo + L, seq.length) or a == b:
            raise UserError(f"{path}: row {row} ({name} {a}-{b}) is not a subsequence of {L} bp of {name}")
        if target[k] != -1:
            raise UserError(f"{path}: rows {target[k]} and {row} both hold {name} {a}-{b}")
        target[k] = row
    for seq in out.values():
        for strand, target in (("plus", seq.plus), ("minus", seq.minus)):
            if (target < 0).any():
                k = int(np.flatnonzero(target < 0)[0])
                raise UserError(f"{path}: no row for {seq.seqid} {strand} strand {k * L}-{min((k + 1) * L, seq.length)}")
    return out


def copy_dataset(src: h5py.Dataset, dst_file: h5py.File, name: str | None = None, shape: tuple | None = None) -> h5py.Dataset:
    """Copy a dataset with its storage settings, chunk by chunk and still compressed where possible.

    ``shape`` may enlarge the copy (e.g. more coverage columns); the new part keeps the fill value.
    """
    name = name or src.name
    kwargs = dict(dtype=src.dtype, chunks=src.chunks, maxshape=src.maxshape, compression=src.compression,
                  compression_opts=src.compression_opts, shuffle=src.shuffle, fillvalue=src.fillvalue)
    if src.chunks is None:
        kwargs = dict(dtype=src.dtype)
    dst = dst_file.create_dataset(name, shape=shape or src.shape, **kwargs)
    if src.size == 0:
        return dst
    if src.chunks is None:
        dst[tuple(slice(0, n) for n in src.shape)] = src[...]
        return dst
    for chunk in src.iter_chunks():
        offset = tuple(s.start for s in chunk)
        mask, data = src.id.read_direct_chunk(offset)
        dst.id.write_direct_chunk(offset, data, mask)
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    return dst


# marks labels that are a model's own gene models (helixer-select's pseudolabels; copy_rows carries it on)
PSEUDOLABELS_ATTR = "helixer_tools_pseudolabels"


def has_pseudolabels(paths: Sequence[str | Path]) -> bool:
    """Whether any of the h5 files holds pseudolabels (False for a file that cannot be read: its reader says why)."""
    for path in paths:
        try:
            with h5file(path, "r") as f:
                if PSEUDOLABELS_ATTR in f.attrs:
                    return True
        except OSError:
            pass
    return False


def walk(group: h5py.Group, prefix: str = "") -> Iterator[tuple[str, h5py.Group | h5py.Dataset]]:
    """Every group and dataset under ``group`` with its path, parents first, by links. Not h5py's
    ``visititems``: HDF5's visit gathers each object's full info, for a dataset the size of its whole chunk
    index, which reads every node of it (20 MB of heap at 300 Mbp, the heap then kept: memory that followed
    the genome's size)."""
    for name, obj in group.items():
        path = f"{prefix}{name}"
        yield path, obj
        if isinstance(obj, h5py.Group):
            yield from walk(obj, f"{path}/")


def copy_rows(src_path: str | Path, dst_path: str | Path, rows: Sequence[int], tool: str, argv: Sequence[str],
              inputs: dict[str, str] | None = None, attrs: dict[str, str] | None = None) -> None:
    """Write a new h5 with only ``rows`` of ``src_path`` (e.g. a training/validation split), atomically.

    Every dataset whose first axis is the row axis is cut; other datasets and all attributes are kept, and
    ``attrs`` are added. Row-per-chunk datasets are copied chunk by chunk without recompression.
    """
    rows = np.asarray(rows, dtype=np.int64)
    with h5file(src_path, "r") as src, H5Writer(dst_path) as out:
        n = src["data/X"].shape[0] if "data/X" in src else src["data/start_ends"].shape[0]

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            if obj.ndim == 0 or obj.shape[0] != n or name.startswith(f"{SEQUENCES}/"):
                copy_dataset(obj, out.file, name)
                return
            shape = (len(rows),) + obj.shape[1:]
            dst = out.file.create_dataset(
                name, shape=shape, dtype=obj.dtype, chunks=obj.chunks, maxshape=(None,) + obj.shape[1:],
                compression=obj.compression, compression_opts=obj.compression_opts, shuffle=obj.shuffle,
                fillvalue=obj.fillvalue)
            if obj.chunks is not None and obj.chunks[0] == 1:  # copy the row's chunks still compressed
                offsets = list(itertools.product(*(range(0, size, c) for size, c in zip(obj.shape[1:], obj.chunks[1:]))))
                for j, r in enumerate(rows):
                    for off in offsets:
                        mask, data = obj.id.read_direct_chunk((int(r),) + off)
                        dst.id.write_direct_chunk((j,) + off, data, mask)
            else:
                for j, r in enumerate(rows):
                    dst[j] = obj[int(r)]
            for key, value in obj.attrs.items():
                dst.attrs[key] = value

        for name, obj in walk(src):
            visit(name, obj)
        for key, value in {**src.attrs, **(attrs or {})}.items():
            out.file.attrs[key] = value
        out.provenance(tool, argv, inputs or {"h5": str(src_path)})


@dataclass(frozen=True)
class Encoder:
    """Runs a dataset's filter pipeline (shuffle + deflate) on one chunk, in any thread or process.

    lzf has no Python codec: then the row itself is the payload and HDF5 compresses it on write.
    """

    dtype: np.dtype
    shuffle: bool
    level: int | None
    direct: bool

    def encode(self, row: np.ndarray):
        if not self.direct:
            return row
        data = np.ascontiguousarray(row, dtype=self.dtype)
        if self.shuffle and data.itemsize > 1:
            data = data.view(np.uint8).reshape(-1, data.itemsize).T
        return zlib_ng.compress(np.ascontiguousarray(data).data, self.level)


class RowDataset:
    """A dataset written one row (= one HDF5 chunk) at a time, compressed in worker threads.

    ``encode(row_array)`` is thread-safe and returns what ``write(row, payload)`` stores. With gzip
    the filter pipeline (shuffle + deflate) runs in ``encode`` and ``write`` stores the finished
    chunk, so compression scales over threads; lzf has no Python codec, so HDF5 applies it in ``write``.
    """

    def __init__(self, dataset: h5py.Dataset, level: int | None):
        self.dataset = dataset
        # finished chunks can only be stored directly when a chunk is exactly one row (or one column of a row)
        one_row = (1,) + dataset.shape[1:]
        one_column = (1, dataset.shape[1], 1) if dataset.ndim == 3 else None
        self.direct = dataset.compression == "gzip" and dataset.chunks in (one_row, one_column)
        self.encoder = Encoder(dataset.dtype, bool(dataset.shuffle), level, self.direct)
        self.row_shape = dataset.shape[1:]

    def encode(self, row: np.ndarray):
        return self.encoder.encode(row)

    def write(self, row: int, payload) -> None:
        if self.direct:
            self.dataset.id.write_direct_chunk((row,) + (0,) * len(self.row_shape), payload)
        else:
            self.dataset[row] = payload

    def column(self, column: int) -> "ColumnDataset":
        """One column of a (N, L, C) dataset chunked (1, L, 1), written row by row like a RowDataset."""
        return ColumnDataset(self, column)


class ColumnDataset:
    def __init__(self, parent: RowDataset, column: int):
        self.parent, self.index = parent, column

    def encode(self, row: np.ndarray):
        return self.parent.encode(row)

    def write(self, row: int, payload) -> None:
        if self.parent.direct:
            self.parent.dataset.id.write_direct_chunk((row, 0, self.index), payload)
        else:
            self.parent.dataset[row, :, self.index] = payload


METADATA_CACHE = 256 << 10  # bytes of HDF5 metadata (chunk indexes, ...) kept per open file, at most


def h5file(path: str | Path, mode: str = "r", **kwargs) -> h5py.File:
    """``h5py.File`` with its metadata cache held to :data:`METADATA_CACHE`. HDF5's own cache grows to 32 MB
    with the chunk index of the rows a file touches (one chunk a row): memory that followed the genome's size.
    The cache counts a chunk-index node by its size on disk (about 3 KB) but holds it decoded, in about six
    times that (its keys have room for 33 dimensions), so a 4 MB cap still held 20-30 MB per file at 300 Mbp;
    at 256 KB, 1.5 MB. A node it no longer holds is read again from the operating system's file cache, which
    costs nothing measurable next to a row's decompression (benchmarks/bench_scale.py). Every h5 file of the
    tools is opened by this."""
    f = h5py.File(path, mode, **kwargs)
    config = f.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = METADATA_CACHE // 2
    config.min_size = METADATA_CACHE // 4
    config.max_size = METADATA_CACHE
    f.id.set_mdc_config(config)
    return f


_abandoned: list = []  # h5 files HDF5 could not write to and cannot close (see new_h5)


def abandoned_h5() -> bool:
    return bool(_abandoned)


@contextlib.contextmanager
def new_h5(path: str | Path) -> Iterator[h5py.File]:
    """``h5py.File(path, "w")`` that a full disk cannot turn into a crash. Once HDF5 has failed to write (a
    full disk; also a write it makes when a dataset is released, which only prints), closing the file, even
    flushing it, crashes the interpreter (exit 139) and left the temporary file behind. So when the disk is
    full the file is not closed: its descriptor is pointed at /dev/null, the error goes on (the caller's
    atomic_path removes the file) and the CLI leaves without closing it (cli.common.run). Otherwise it is
    closed as usual, also after an error."""
    try:
        f = h5file(path, "w")
    except OSError as e:
        raise UserError(f"{user_name(str(path))}: cannot create output: {e}") from None
    try:
        yield f
        if _no_space(f):  # a write HDF5 made may have failed unseen
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        f.close()
    except BaseException as e:
        if f.id.valid:
            if disk_error(e) is not None or _no_space(f):
                _abandoned.append(f)
                with contextlib.suppress(Exception):
                    null = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(null, f.id.get_vfd_handle())
                    os.close(null)
            else:
                with contextlib.suppress(Exception):
                    f.close()
        raise


@contextlib.contextmanager
def new_small_h5(path: str | Path) -> Iterator[h5py.File]:
    """An h5 file built in memory and written in one go when the block ends: for small files (models), whose
    many small HDF5 writes would otherwise meet a full disk inside h5py, where the errors cannot be caught
    but are printed; here a full disk is one plain write error."""
    image = io.BytesIO()
    with h5file(image, "w") as f:
        yield f
    with open(path, "wb") as out:
        out.write(image.getbuffer())


def _no_space(f: h5py.File) -> bool:
    try:
        return os.fstatvfs(f.id.get_vfd_handle()).f_bavail == 0
    except Exception:
        return False


class H5Writer:
    """An output h5 file written under a temporary name and renamed into place only on success."""

    def __init__(self, path: str | Path, compression: str = "gzip", level: int = DEFAULT_GZIP_LEVEL):
        if compression not in COMPRESSIONS:
            raise UserError(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
        if compression == "gzip" and not 0 <= level <= 9:
            raise UserError(f"gzip compression level {level} is not between 0 and 9")
        self.path = Path(path)
        self.compression = compression
        self.level = level
        self.file: h5py.File | None = None
        self._open: contextlib.ExitStack | None = None

    def __enter__(self) -> "H5Writer":
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(self.path))
            self.file = stack.enter_context(new_h5(tmp))
            self._open = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._open.__exit__(exc_type, exc, tb)  # closes the file, then renames it into place or removes it

    def create(self, name: str, shape: tuple, dtype, data: np.ndarray | None = None, chunks: tuple | None = None,
               maxshape: tuple | None = None, fillvalue=None) -> h5py.Dataset:
        """Create a dataset chunked one row per chunk (by default), compressed as upstream does."""
        kwargs = {"compression": self.compression, "shuffle": len(shape) > 1}
        if self.compression == "gzip":
            kwargs["compression_opts"] = self.level
        if fillvalue is not None:
            kwargs["fillvalue"] = fillvalue
        dataset = self.file.create_dataset(
            name, shape=shape, dtype=dtype, chunks=chunks or (1,) + tuple(shape[1:]),
            maxshape=maxshape or (None,) + tuple(shape[1:]), **kwargs,
        )
        if data is not None and len(data):
            write_all(dataset, data)
        return dataset

    def row_dataset(self, name: str, shape: tuple, dtype) -> RowDataset:
        return RowDataset(self.create(name, shape, dtype), self.level)

    def provenance(self, tool: str, argv: Sequence[str], inputs: dict[str, str]) -> None:
        """Record which tool, version, arguments and inputs made this file."""
        attrs = self.file.attrs
        attrs["helixer_tools_tool"] = tool
        attrs["helixer_tools_version"] = __version__
        attrs["helixer_tools_argv"] = json.dumps(list(argv))
        attrs["helixer_tools_inputs"] = json.dumps(inputs)
        attrs["timestamp"] = time.strftime("%Y-%m-%d %H:%M:%S")
        if len(inputs) == 1:
            attrs["input_path"] = next(iter(inputs.values()))  # the attribute upstream writes


Job = Callable[[], list[tuple[RowDataset, int, object]]]


def _write_all(results) -> None:
    for dataset, row, payload in results:
        dataset.write(row, payload)


def grouped(items: Iterable[T], weight: Callable[[T], int], budget: int,
            joins: Callable[[T, T], bool] | None = None) -> Iterator[list[T]]:
    """Consecutive items in groups of at most ``budget`` total weight (an item heavier than that alone),
    a new group also wherever ``joins(previous, item)`` is false: many small pieces of work (a draft
    assembly's contigs) become few calls."""
    group: list[T] = []
    total = 0
    for item in items:
        w = weight(item)
        if group and (total + w > budget or (joins is not None and not joins(group[-1], item))):
            yield group
            group, total = [], 0
        group.append(item)
        total += w
    if group:
        yield group


def run_ordered(jobs: Iterator[tuple[Job, int]], threads: int, progress: Callable[[int], None],
                write: Callable = _write_all, executor=None) -> None:
    """Run encode jobs on ``threads`` workers and write their results from this thread, in bounded memory.

    ``jobs`` yields ``(job, weight)``; by default a job returns ``[(dataset, row, payload), ...]``
    (another ``write`` may take other results) and ``progress(weight)`` is called once they are written.
    At most ``2 * threads`` jobs are in flight. ``executor`` (e.g. a process pool) replaces the threads.
    """
    if threads <= 1 and executor is None:
        for job, weight in jobs:
            write(job())
            progress(weight)
        return
    pending: deque = deque()
    owned = executor is None
    pool = ThreadPoolExecutor(max_workers=threads) if owned else executor
    try:
        for job, weight in jobs:
            pending.append((pool.submit(job), weight))
            if len(pending) >= 2 * max(threads, 1):
                future, weight = pending.popleft()
                write(future.result())
                progress(weight)
        while pending:
            future, weight = pending.popleft()
            write(future.result())
            progress(weight)
    finally:
        for future, _ in pending:
            future.cancel()
        if owned:
            pool.shutdown(wait=True)


def open_h5(path: str | Path) -> h5py.File:
    """Open an input h5 for reading, or a one-line error naming it."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    try:
        return h5file(path, "r")
    except OSError:
        raise UserError(f"{path}: not an HDF5 file") from None


ROW_SLICE = 256  # rows per HDF5 call on a dataset of one-row chunks


def read_all(dataset: h5py.Dataset) -> np.ndarray:
    """A whole dataset, read ``ROW_SLICE`` rows at a time: HDF5 keeps some kilobytes of state per chunk a call
    touches, so one read of a per-row dataset of N one-row chunks (e.g. data/seqids) would cost memory
    in proportion to the genome (400 MB at 56,000 rows)."""
    if dataset.chunks is None or dataset.ndim == 0 or dataset.shape[0] <= ROW_SLICE:
        return dataset[()]
    out = np.empty(dataset.shape, dataset.dtype)
    for i in range(0, dataset.shape[0], ROW_SLICE):
        dataset.read_direct(out, np.s_[i:i + ROW_SLICE], np.s_[i:i + ROW_SLICE])
    return out


def write_all(dataset: h5py.Dataset, data: np.ndarray) -> None:
    """Write a whole dataset ``ROW_SLICE`` rows at a time (see :func:`read_all`)."""
    for i in range(0, len(data), ROW_SLICE):
        dataset[i:i + ROW_SLICE] = data[i:i + ROW_SLICE]


def names(values) -> list[str]:
    """Sequence ids or species of an h5 (bytes) as str."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def write_digests(f: h5py.File, digests: dict[str, str]) -> None:
    """Record which genome a file is of: ``sequences/seqids`` and ``sequences/sha1`` (upstream ignores them)."""
    if SEQUENCES in f:
        del f[SEQUENCES]
    f.create_dataset(f"{SEQUENCES}/seqids", data=np.array([s.encode() for s in digests], dtype=f"S{SEQID_BYTES}"))
    f.create_dataset(f"{SEQUENCES}/sha1", data=np.array([d.encode() for d in digests.values()], dtype="S40"))


def digests_of(f: h5py.File) -> dict[str, str]:
    """seqid -> SHA-1 of its bases, as recorded by helixer-fasta2h5 or helixer-geenuff2h5 (empty when not)."""
    if f"{SEQUENCES}/sha1" not in f:
        return {}
    return dict(zip(names(read_all(f[f"{SEQUENCES}/seqids"])), names(read_all(f[f"{SEQUENCES}/sha1"]))))


def check_same_genome(path: str, digests: dict[str, str], other: str, other_digests: dict[str, str]) -> None:
    """Refuse files whose sequences of the same id differ in their bases (another assembly or species)."""
    for seqid, digest in digests.items():
        theirs = other_digests.get(seqid)
        if theirs is not None and theirs != digest:
            raise UserError(f"{path}: sequence {seqid!r} is not the one in {other} (same id, other bases); "
                            "were both made from the same genome FASTA?")


def species_of(f: h5py.File) -> list[str]:
    """The distinct species of an h5 file's rows (none without data/species)."""
    return sorted(set(names(np.unique(read_all(f["data/species"]))))) if "data/species" in f else []


def predictions_padding(path: str, predictions: h5py.File, start_ends: np.ndarray, length: int,
                        given: str | None) -> str:
    """Where padded minus-strand rows of a predictions file have their padding: 'end' (helixer-predict records
    it) or 'start' (upstream HybridModel.py >= 0.3.6, which records nothing). Without the attribute, the user
    must say it when such rows exist: never guessed."""
    recorded = predictions.attrs.get("padding")
    recorded = recorded.decode() if isinstance(recorded, bytes) else recorded
    if given is not None and recorded is not None and recorded != given:
        raise UserError(f"{path} records padding={recorded}, but --predictions-padding {given} was given")
    layout_ = given or recorded
    padded_minus = (start_ends[:, 0] > start_ends[:, 1]) & (np.abs(start_ends[:, 0] - start_ends[:, 1]) < length)
    if layout_ is None and padded_minus.any():
        raise UserError(
            f"{path} does not say where the padding of minus-strand rows is (no 'padding' attribute: not written by "
            "helixer-predict); upstream HybridModel.py >= 0.3.6 writes it first: give --predictions-padding start "
            "for those, end for older upstream versions")
    layout_ = layout_ or "end"
    if layout_ not in ("end", "start"):
        raise UserError(f"{path}: unknown padding layout {layout_!r} (expected end or start)")
    return layout_
