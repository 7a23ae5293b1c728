"""Fast, bounded-memory reading of sorted, indexed BAM files for coverage counting.

pysam (htslib) checks the file and its header. The alignments themselves are decoded here, in bulk
with numpy, because only a few fields matter and a per-read Python loop is the bottleneck of
upstream's coverage step: BGZF blocks are inflated with zlib-ng, records are located with one tight
loop over their length prefixes, and their fixed fields and CIGAR operations are gathered as arrays.

The BAI index gives, for any position, the file offset of the first alignment that may overlap it
(the linear index), so a contig can be read from any point: coverage of different regions is
counted independently, in parallel.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from zlib_ng import zlib_ng

from .errors import UserError

LINEAR_SHIFT = 14  # BAI linear index: one entry per 16 kbp
_RECORD = np.dtype([("block_size", "<i4"), ("ref_id", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"),
                    ("mapq", "u1"), ("bin", "<u2"), ("n_cigar_op", "<u2"), ("flag", "<u2"), ("l_seq", "<i4"),
                    ("next_ref_id", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4")])
_FIXED = np.arange(_RECORD.itemsize)
_INT32 = struct.Struct("<i").unpack_from
# CIGAR operations that consume the reference: M, D, N, =, X
CONSUMES_REFERENCE = np.zeros(16, dtype=bool)
CONSUMES_REFERENCE[[0, 2, 3, 7, 8]] = True
FLAG_PAIRED, FLAG_UNMAPPED, FLAG_REVERSE, FLAG_READ1, FLAG_READ2 = 0x1, 0x4, 0x10, 0x40, 0x80
FLAG_SECONDARY, FLAG_QCFAIL = 0x100, 0x200


@dataclass(frozen=True)
class BamInfo:
    """What a BAM file is, for checks and for recording which BAM made which coverage column."""

    path: str
    name: str
    size: int
    header_md5: str  # of the header text and the reference names and lengths
    references: tuple[str, ...]
    lengths: tuple[int, ...]
    index: str


def _index_path(path: str) -> str | None:
    for candidate in (path + ".bai", path[:-4] + ".bai" if path.endswith(".bam") else None, path + ".csi"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def inspect(path: str | Path, index: str | Path | None = None) -> BamInfo:
    """Check that ``path`` is a coordinate-sorted, indexed (BAI or CSI) BAM and describe it."""
    import pysam

    path = str(path)
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    index = str(index) if index else _index_path(path)
    if not _is_bam(path):
        raise UserError(f"{path}: not a BAM file (SAM or CRAM: convert with samtools view -b)")
    try:
        with pysam.AlignmentFile(path, "rb", index_filename=index, check_sq=False) as bam:
            header = bam.header.to_dict()
            refs, lengths = tuple(bam.references), tuple(bam.lengths)
            text = str(bam.header)
    except (ValueError, OSError) as e:
        raise UserError(f"{path}: not a readable BAM file ({e})") from None
    if header.get("HD", {}).get("SO") != "coordinate":
        raise UserError(f"{path}: not sorted by coordinate (header says SO:{header.get('HD', {}).get('SO', 'none')}); "
                        "run samtools sort")
    if index is None:
        raise UserError(f"{path}: no index ({path}.bai or {path}.csi); run samtools index (samtools index -c for "
                        "chromosomes over 512 Mbp)")
    if os.path.getmtime(index) + 1 < os.path.getmtime(path):  # htslib warns too; copies can reorder times
        logging.getLogger("helixer_tools").warning("%s: the index %s is older than the BAM; if the BAM changed, "
                                                   "run samtools index again", path, index)
    digest = hashlib.md5(text.encode()).hexdigest()
    return BamInfo(path, os.path.basename(path), os.path.getsize(path), digest, refs, lengths, index)


def _is_bam(path: str) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(18)
    if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
        return False
    try:
        reader = BgzfReader(path)
        try:
            return reader.read(4)[:4] == b"BAM\x01"
        finally:
            reader.close()
    except UserError:
        return False


_PSEUDO_BIN = 37450  # BAI: samtools' per-reference summary: first and last record's offsets, mapped/unmapped counts
_SAMPLED_REFERENCES = 64  # references whose first record is decoded to check that the index fits the BAM


@dataclass
class Index:
    """Where each reference's alignments start: ``offsets[ref][w]`` is the virtual file offset from which every
    alignment overlapping window ``w`` (of ``1 << shift`` bp) is found, 0 when none overlaps it."""

    offsets: list[np.ndarray]
    shift: int

    def first_offset(self, ref: int, r0: int, r1: int) -> int | None:
        """Virtual offset to start reading alignments that may overlap [r0, r1), or None when none does."""
        entries = self.offsets[ref][r0 >> self.shift: ((r1 - 1) >> self.shift) + 1]
        entries = entries[entries != 0]
        return int(entries.min()) if len(entries) else None


def read_index(index: str, bam: str, lengths: Sequence[int]) -> Index:
    """Read the BAI or CSI index (CSI: for chromosomes over 2^29 bp, which BAI cannot index) of ``bam``, whose
    references have ``lengths``.

    The index is checked against ``bam`` first: a stale index (the BAM changed since ``samtools index``) or
    one of another BAM gives one line saying to re-index, not a decoding error blaming the BAM."""
    data = Path(index).read_bytes()
    if data[:2] == b"\x1f\x8b":  # samtools writes CSI BGZF-compressed
        data = _inflate_bgzf(index)
    stale = f"re-index with samtools index {bam}"
    if data[:4] not in (b"BAI\x01", b"CSI\x01"):
        raise UserError(f"{index}: not a BAI or CSI index")
    try:
        n_ref = _INT32(data, 4 if data[:4] == b"BAI\x01" else 16 + _INT32(data, 12)[0])[0]
        if n_ref != len(lengths):
            raise UserError(f"{index}: indexes {n_ref} references, {bam} has {len(lengths)}; it is not this BAM's "
                            f"index: {stale}")
        result, firsts = _read_bai(data) if data[:4] == b"BAI\x01" else _read_csi(data, lengths)
    except (struct.error, ValueError):
        raise UserError(f"{index}: truncated or corrupt index: {stale}") from None
    _check_fits(index, bam, result.offsets, firsts, stale)
    return result


def _inflate_bgzf(path: str) -> bytes:
    reader = BgzfReader(path)
    try:
        out = []
        while block := reader.read():
            out.append(block)
        return b"".join(out)
    except UserError:
        return b""
    finally:
        reader.close()


def _read_bai(data: bytes) -> tuple[Index, dict[int, tuple[int, int]]]:
    n_ref = _INT32(data, 4)[0]
    p, linear, firsts = 8, [], {}
    for ref in range(n_ref):
        n_bin = _INT32(data, p)[0]
        p += 4
        for _ in range(n_bin):
            bin_id, n_chunk = struct.unpack_from("<Ii", data, p)
            if bin_id == _PSEUDO_BIN and n_chunk == 2:
                first, last, mapped = struct.unpack_from("<QQQ", data, p + 8)
                if mapped:
                    firsts[ref] = (first, last)
            p += 8 + 16 * n_chunk
        n_intv = _INT32(data, p)[0]
        p += 4
        if n_intv < 0 or p + 8 * n_intv > len(data):
            raise struct.error
        offsets = np.frombuffer(data, dtype="<u8", count=n_intv, offset=p).copy()
        p += 8 * n_intv
        # empty windows hold 0 before the first alignment, else any earlier window's offset (monotone)
        linear.append(np.maximum.accumulate(offsets) if n_intv else offsets)
    return Index(linear, LINEAR_SHIFT), firsts


def _read_csi(data: bytes, lengths: Sequence[int]) -> tuple[Index, dict[int, tuple[int, int]]]:
    """CSI has no linear index: each bin records the offset of the first alignment overlapping it, so a
    window's offset is the smallest of the bins containing it (a bin holds its alignments' whole spans)."""
    min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    if not 0 < min_shift < 64 or not 0 <= depth < 16:
        raise ValueError
    p = 16 + l_aux
    n_ref = _INT32(data, p)[0]
    p += 4
    pseudo = ((1 << (3 * depth + 3)) - 1) // 7 + 1
    level_first = [((1 << (3 * level)) - 1) // 7 for level in range(depth + 1)]
    offsets, firsts = [], {}
    for ref in range(n_ref):
        n_bin = _INT32(data, p)[0]
        p += 4
        bins = []
        for _ in range(n_bin):
            bin_id, loffset, n_chunk = struct.unpack_from("<IQi", data, p)
            if bin_id == pseudo and n_chunk == 2:
                first, last, mapped = struct.unpack_from("<QQQ", data, p + 16)
                if mapped:
                    firsts[ref] = (first, last)
            elif bin_id < pseudo:
                level = max(k for k, f in enumerate(level_first) if f <= bin_id)
                width = 1 << (3 * (depth - level))  # in windows of 1 << min_shift
                bins.append(((bin_id - level_first[level]) * width, width, loffset))
            p += 16 + 16 * n_chunk
        n_windows = -(-lengths[ref] >> min_shift)  # ceil
        window = np.full(n_windows, np.iinfo(np.uint64).max, dtype=np.uint64)
        for start, width, loffset in bins:
            span = window[start: start + width]  # a view: empty past the reference's end
            np.minimum(span, np.uint64(loffset), out=span)
        window[window == np.iinfo(np.uint64).max] = 0
        offsets.append(window)
    return Index(offsets, min_shift), firsts


def _check_fits(index: str, bam: str, offsets: list[np.ndarray], firsts: dict[int, tuple[int, int]],
                stale: str) -> None:
    """Offsets within the BAM, and the first record of (a sample of) the references where the index says."""
    size = os.path.getsize(bam)
    ends = [int(a.max()) for a in offsets if len(a)] + [v for pair in firsts.values() for v in pair]
    if ends and max(ends) >> 16 > size:
        raise UserError(f"{index}: points past the end of {bam} (byte {max(ends) >> 16} of {size}); the index is "
                        f"stale or of another BAM: {stale}")
    refs = sorted(firsts)
    if len(refs) > _SAMPLED_REFERENCES:
        refs = [refs[i] for i in np.linspace(0, len(refs) - 1, _SAMPLED_REFERENCES).astype(int)]
    for ref in refs:
        reader = BgzfReader(bam, firsts[ref][0])
        try:
            record = reader.read(1 << 16)
        except UserError:
            record = b""
        finally:
            reader.close()
        if len(record) < 8 or _INT32(record, 4)[0] != ref:
            raise UserError(f"{index}: does not match {bam} (reference {ref + 1}'s first alignment is not where "
                            f"the index says); the index is stale or of another BAM: {stale}")


@dataclass
class Alignments:
    """A batch of alignments: per record and per CIGAR operation arrays."""

    ref_id: np.ndarray
    pos: np.ndarray
    flag: np.ndarray
    n_cigar: np.ndarray
    op: np.ndarray  # per CIGAR operation
    op_start: np.ndarray  # reference start of each operation
    op_len: np.ndarray  # reference length of each operation (0 when it does not consume the reference)
    op_record: np.ndarray  # record index of each operation

    def slice(self, a: int, b: int) -> "Alignments":
        """Records a..b-1, at a cost that follows their number (operations are in record order)."""
        o0, o1 = np.searchsorted(self.op_record, (a, b))
        return Alignments(self.ref_id[a:b], self.pos[a:b], self.flag[a:b], self.n_cigar[a:b], self.op[o0:o1],
                          self.op_start[o0:o1], self.op_len[o0:o1], self.op_record[o0:o1] - a)

    def __len__(self) -> int:
        return len(self.pos)


class BgzfReader:
    """Sequential reading of a BGZF file from a virtual offset, in blocks."""

    def __init__(self, path: str, virtual_offset: int = 0):
        self.path = path
        self.fh = open(path, "rb")
        self.fh.seek(virtual_offset >> 16)
        self.skip = virtual_offset & 0xFFFF

    def close(self) -> None:
        self.fh.close()

    def read(self, target: int = 1 << 22) -> bytes:
        """Inflate whole blocks until about ``target`` bytes; b'' at the end of the file."""
        out, size = [], 0
        while size < target:
            head = self.fh.read(18)
            if len(head) < 18:
                break
            if head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
                raise UserError(f"{self.path}: not a BGZF-compressed BAM (block at byte {self.fh.tell() - 18})")
            xlen = head[10] | head[11] << 8
            bsize = (head[16] | head[17] << 8) + 1
            rest = self.fh.read(bsize - 18)
            if len(rest) < bsize - 18:
                raise UserError(f"{self.path}: truncated (a block is cut short at byte {self.fh.tell()})")
            try:
                block = zlib_ng.decompress(rest[xlen - 6: -8], -15)
            except zlib_ng.error as e:
                raise UserError(f"{self.path}: corrupt block at byte {self.fh.tell() - bsize}: {e}") from None
            if self.skip:
                block, self.skip = block[self.skip:], 0
            out.append(block)
            size += len(block)
        return b"".join(out)


def skip_header(reader: BgzfReader) -> bytes:
    """Consume the BAM header from the start of the file; return the bytes read past it."""
    buf = reader.read(1 << 16)
    while True:
        if len(buf) >= 12:
            l_text = _INT32(buf, 4)[0]
            p = 8 + l_text
            if len(buf) >= p + 4:
                n_ref = _INT32(buf, p)[0]
                p += 4
                ok = True
                for _ in range(n_ref):
                    if len(buf) < p + 4:
                        ok = False
                        break
                    p += 8 + _INT32(buf, p)[0]
                if ok and len(buf) >= p:
                    return buf[p:]
        more = reader.read(1 << 16)
        if not more:
            raise UserError(f"{reader.path}: truncated header")
        buf += more


def iter_alignments(reader: BgzfReader, pending: bytes = b"", batch_bytes: int = 1 << 22,
                    first_batch: int = 1 << 16) -> Iterator[Alignments]:
    """Decode the records from the reader's position onwards, in batches that grow from ``first_batch`` to
    ``batch_bytes``: a short contig of a draft assembly costs a small read, a chromosome large batches."""
    size = min(first_batch, batch_bytes)
    while True:
        chunk = reader.read(size)
        size = min(size * 4, batch_bytes)
        buf = pending + chunk if pending else chunk
        if not buf:
            return
        starts, p, n = [], 0, len(buf)
        append = starts.append
        # the length prefix at byte p is int32 number p >> 2 of the view that starts at byte p & 3
        views = [memoryview(buf)[k: k + (n - k) // 4 * 4].cast("i") for k in range(4)]
        while p + 4 <= n:
            end = p + 4 + views[p & 3][p >> 2]
            if end > n:
                break
            append(p)
            p = end
        for view in views:
            view.release()
        pending = buf[p:]
        if starts:
            yield _decode(buf, np.array(starts, dtype=np.int64))
        if not chunk:
            if pending:
                raise UserError(f"{reader.path}: truncated (the last alignment record is incomplete)")
            return


def _decode(buf: bytes, starts: np.ndarray) -> Alignments:
    u8 = np.frombuffer(buf, dtype=np.uint8)
    fixed = u8[starts[:, None] + _FIXED].view(_RECORD).ravel()
    n_cigar = fixed["n_cigar_op"].astype(np.int64)
    cigar_at = starts + _RECORD.itemsize + fixed["l_read_name"]
    words = _cigar_words(u8, cigar_at, n_cigar)
    # CIGARs of more than 65,535 operations (long reads) are stored in the CG tag; the record holds a
    # placeholder: the read length soft-clipped, then the reference span skipped (kSmN)
    two = np.flatnonzero(n_cigar == 2)
    at = (np.cumsum(n_cigar) - n_cigar)[two]
    placeholders = two[((words[at] & 0xF) == 4) & ((words[at] >> 4) == fixed["l_seq"][two])
                       & ((words[at + 1] & 0xF) == 3)]
    if len(placeholders):
        pieces = np.split(words, np.cumsum(n_cigar)[:-1])
        for i in placeholders:
            real = _cg_tag(buf, int(starts[i]), fixed[i], int(cigar_at[i]))
            if real is not None:  # without a CG tag the placeholder stands, as in htslib
                pieces[i] = real
        n_cigar = np.array([len(p) for p in pieces], dtype=np.int64)
        words = np.concatenate(pieces)
    first = np.cumsum(n_cigar) - n_cigar
    op_record = np.repeat(np.arange(len(starts)), n_cigar)
    op = (words & 0xF).astype(np.int8)
    op_len = np.where(CONSUMES_REFERENCE[op], words >> 4, 0).astype(np.int64)
    advanced = np.concatenate([[0], np.cumsum(op_len)])
    op_start = fixed["pos"].astype(np.int64)[op_record] + advanced[:-1] - np.repeat(advanced[first], n_cigar)
    return Alignments(fixed["ref_id"], fixed["pos"].astype(np.int64), fixed["flag"], n_cigar, op, op_start, op_len,
                      op_record)


def _cigar_words(u8: np.ndarray, cigar_at: np.ndarray, n_cigar: np.ndarray) -> np.ndarray:
    """Every record's CIGAR operations (uint32: length << 4 | op), concatenated."""
    first = np.cumsum(n_cigar) - n_cigar
    within = np.arange(int(n_cigar.sum())) - np.repeat(first, n_cigar)
    word_at = np.repeat(cigar_at, n_cigar) + 4 * within
    return u8[word_at[:, None] + np.arange(4)].view("<u4").ravel()


_AUX_SIZES = {ord(c): n for c, n in zip("AcCsSiIf", (1, 1, 1, 2, 2, 4, 4, 4))}


def _cg_tag(buf: bytes, start: int, fixed, cigar_at: int) -> np.ndarray | None:
    """The real CIGAR of a record whose CIGAR is a placeholder: the uint32 array of its CG:B:I tag."""
    end = start + 4 + int(fixed["block_size"])
    p = cigar_at + 4 * int(fixed["n_cigar_op"]) + (int(fixed["l_seq"]) + 1) // 2 + int(fixed["l_seq"])
    while p + 3 <= end:
        tag, kind = buf[p: p + 2], buf[p + 2]
        p += 3
        if kind in _AUX_SIZES:
            p += _AUX_SIZES[kind]
        elif kind in (ord("Z"), ord("H")):
            p = buf.index(b"\0", p, end) + 1
        elif kind == ord("B"):
            sub, count = buf[p], _INT32(buf, p + 1)[0]
            p += 5
            if tag == b"CG" and sub == ord("I"):
                return np.frombuffer(buf, dtype="<u4", count=count, offset=p).copy()
            p += count * _AUX_SIZES.get(sub, 1)
        else:
            break
    return None
