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
from typing import Iterator

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
    """Check that ``path`` is a coordinate-sorted, BAI-indexed BAM and describe it."""
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
        raise UserError(f"{path}: no index ({path}.bai); run samtools index")
    if index.endswith(".csi"):
        raise UserError(f"{path}: has a CSI index only; make a BAI index with samtools index -b")
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


_PSEUDO_BIN = 37450  # samtools' per-reference summary: first and last record's offsets, mapped/unmapped counts
_SAMPLED_REFERENCES = 64  # references whose first record is decoded to check that the index fits the BAM


def read_bai(index: str, bam: str, n_refs: int) -> list[np.ndarray]:
    """The linear index of each reference: virtual file offsets, one per 16 kbp window (monotone).

    The index is checked against ``bam`` first: a stale index (the BAM changed since ``samtools index``) or
    one of another BAM gives one line saying to re-index, not a decoding error blaming the BAM."""
    data = Path(index).read_bytes()
    if data[:4] != b"BAI\x01":
        raise UserError(f"{index}: not a BAI index")
    stale = f"re-index with samtools index {bam}"
    try:
        n_ref = _INT32(data, 4)[0]
        if n_ref != n_refs:
            raise UserError(f"{index}: indexes {n_ref} references, {bam} has {n_refs}; it is not this BAM's "
                            f"index: {stale}")
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
            # empty windows hold 0: any earlier window's offset is safe (the index is monotone)
            linear.append(np.maximum.accumulate(offsets) if n_intv else offsets)
    except struct.error:
        raise UserError(f"{index}: truncated or corrupt BAI index: {stale}") from None
    _check_fits(index, bam, linear, firsts, stale)
    return linear


def _check_fits(index: str, bam: str, linear: list[np.ndarray], firsts: dict[int, tuple[int, int]],
                stale: str) -> None:
    """Offsets within the BAM, and the first record of (a sample of) the references where the index says."""
    size = os.path.getsize(bam)
    ends = [int(a[-1]) for a in linear if len(a)] + [v for pair in firsts.values() for v in pair]
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


def iter_alignments(reader: BgzfReader, pending: bytes = b"", batch_bytes: int = 1 << 22) -> Iterator[Alignments]:
    """Decode the records from the reader's position onwards, in batches."""
    while True:
        chunk = reader.read(batch_bytes)
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
    total = int(n_cigar.sum())
    first = np.cumsum(n_cigar) - n_cigar
    op_record = np.repeat(np.arange(len(starts)), n_cigar)
    within = np.arange(total) - np.repeat(first, n_cigar)
    word_at = np.repeat(cigar_at, n_cigar) + 4 * within
    words = u8[word_at[:, None] + np.arange(4)].view("<u4").ravel()
    op = (words & 0xF).astype(np.int8)
    op_len = np.where(CONSUMES_REFERENCE[op], words >> 4, 0).astype(np.int64)
    advanced = np.concatenate([[0], np.cumsum(op_len)])
    op_start = fixed["pos"].astype(np.int64)[op_record] + advanced[:-1] - np.repeat(advanced[first], n_cigar)
    return Alignments(fixed["ref_id"], fixed["pos"].astype(np.int64), fixed["flag"], n_cigar, op, op_start, op_len,
                      op_record)
