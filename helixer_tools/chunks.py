"""Scatter a genome into groups of whole sequences and gather the groups' GFF3s back into one.

The pipeline predicts and decodes a large genome in parallel tasks of about ``chunk_bases`` bases each.
Every step after the split works per sequence (subsequences never cross sequences, overlap and
helixer-post's decoding stay within one), and helixer-post's gene ids carry the sequence id, so the
gathered GFF3 is the one a single task would have written: same features, same order, same ids.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Sequence

from .atomic import atomic_path
from .errors import UserError
from .fasta import FastaReader, _seqid, text_lines
from .gff import END_MARK, END_NOTE, gff3_attributes

log = logging.getLogger("helixer_tools")


def scatter_fasta(fasta: str | Path, chunk_bases: int, prefix: str | Path) -> list[tuple[Path, list[str], int]]:
    """Write the records of ``fasta`` (plain or compressed), in file order, into ``{prefix}.00001.fa``,
    ``{prefix}.00002.fa``, ...: consecutive whole records, a new file begun once the current one holds
    ``chunk_bases`` bases or more (a sequence longer than that is a file of its own). Headers and sequence
    lines are copied as they are. Returns (path, seqids, bases) per file. Duplicate ids are refused here,
    since no later step, seeing one file, could notice them."""
    fasta = str(fasta)
    groups: list[list] = []  # [path, seqids, bases] per file
    seen: dict[str, int] = {}
    out, index, ends_in_newline = None, 0, True
    # every file's atomic_path stays open until the end: all appear, or (on an error) none
    with contextlib.ExitStack() as files:
        for kind, data in FastaReader(fasta).events():
            if kind == "header":
                index += 1
                seqid = _seqid(fasta, index, data)
                if seqid in seen:
                    raise UserError(f"{fasta}: duplicate sequence id {seqid!r} (records {seen[seqid]} and {index}); "
                                    "sequence ids must be unique")
                seen[seqid] = index
                if not ends_in_newline:
                    out.write(b"\n")
                if out is None or groups[-1][2] >= chunk_bases:
                    if out is not None:
                        out.close()
                    path = Path(f"{prefix}.{len(groups) + 1:05d}.fa")
                    out = open(files.enter_context(atomic_path(path)), "wb")
                    files.callback(out.close)
                    groups.append([path, [], 0])
                groups[-1][1].append(seqid)
                out.write(b">" + data + b"\n")
                ends_in_newline = True
            elif out is None:
                if data.strip():
                    raise UserError(f"{fasta}: not a FASTA file: the first line does not start with '>'")
            else:
                out.write(data)
                groups[-1][2] += len(data) - data.count(b"\n") - data.count(b"\r") - data.count(b" ")
                ends_in_newline = data.endswith(b"\n")
        if out is None:
            raise UserError(f"{fasta}: not a FASTA file: no '>' header found")
        if not ends_in_newline:
            out.write(b"\n")
    made = {str(group[0]) for group in groups}
    stale = sorted(p for p in Path(prefix).parent.glob(f"{Path(prefix).name}.[0-9][0-9][0-9][0-9][0-9].fa")
                   if str(p) not in made)
    for path in stale:  # an earlier scatter's files beyond this one's: they would be taken for this genome's
        path.unlink()
    if stale:
        log.info("removed %d file(s) of an earlier scatter with this prefix (%s ...)", len(stale), stale[0])
    return [tuple(group) for group in groups]


def _gene_id(line: str) -> str | None:
    fields = line.rstrip("\n").split("\t")
    return gff3_attributes(fields[8]).get("ID") if len(fields) == 9 and fields[2] == "gene" else None


def _genome_order(parts: Sequence[str], fasta: str) -> list[str]:
    """The parts in the order of their sequences in ``fasta`` (by each part's ##sequence-region lines)."""
    ids = (_seqid(fasta, i, header) for i, header in
           enumerate((data for kind, data in FastaReader(fasta).events() if kind == "header"), 1))
    rank = {seqid: i for i, seqid in enumerate(ids)}  # the order only: no need to validate the sequences
    first = {}
    for part in parts:
        seqids = []
        for _, line in text_lines(part, "GFF3"):  # the header: helixer-post writes the regions first
            if not line.startswith("#"):
                break
            if line.startswith("##sequence-region"):
                seqids.append(line.split()[1])
        unknown = [s for s in seqids if s not in rank]
        if unknown:
            raise UserError(f"{part}: sequence {unknown[0]} is not in {fasta}: a part of another genome?")
        first[part] = min((rank[s] for s in seqids), default=len(rank) + 1)
    return sorted(parts, key=lambda p: first[p])


def gather_gff3(parts: Sequence[str | Path], output: str | Path, fasta: str | Path | None = None) -> int:
    """Concatenate helixer-post GFF3s of disjoint sequence groups into one GFF3, in the genome's order
    (``fasta``'s, by the parts' ##sequence-region lines; without it, in the order given): one ``##gff-version
    3``, every part's ``##sequence-region`` lines, the comment lines the parts share (settings, model; each
    part's ``# command:`` line is left out), then every part's features. Refused: parts made with different
    settings or models, a sequence in two parts, a gene id twice, a part cut off (mid-line, or at a line
    boundary: helixer-post ends its GFF3 with ``###`` and says so in the header, and so does the gathered
    one). Returns the number of genes."""
    if not parts:
        raise UserError("no GFF3 parts to gather")
    if fasta is not None:
        parts = _genome_order([str(p) for p in parts], str(fasta))
    pragmas: list[str] = []
    comments: list[str] | None = None
    regions: dict[str, str] = {}
    gene_ids: dict[str, str] = {}
    closing: dict[str, bool] = {}  # part -> its header promises a closing '###'
    with atomic_path(output) as tmp, open(tmp, "w") as out:
        for part in parts:
            part = str(part)
            header, own_comments = [], []
            for _, line in text_lines(part, "GFF3", complete=True):
                if not line.startswith("#"):
                    break
                header.append(line + "\n")
            closing[part] = END_NOTE in header
            for line in header:
                if line.startswith("##gff-version") or line.startswith("###"):
                    continue  # one version line, and one closing '###' at the end
                if line.startswith("##sequence-region"):
                    seqid = line.split()[1]
                    if seqid in regions:
                        raise UserError(f"{part}: sequence {seqid} is also in {regions[seqid]}; parts must hold "
                                        "disjoint sequences")
                    regions[seqid] = part
                    pragmas.append(line)
                elif line.startswith("##"):
                    if line not in pragmas:
                        pragmas.append(line)
                elif not line.startswith("# command:"):
                    own_comments.append(line)
            if comments is None:
                comments = own_comments
            elif own_comments != comments:
                raise UserError(f"{part}: made with other settings or another model than {parts[0]} "
                                f"({''.join(own_comments).strip()!r} vs {''.join(comments).strip()!r})")
        out.write("##gff-version 3\n")
        out.writelines(pragmas)
        out.writelines(comments or [])
        for part in map(str, parts):
            last = ""
            for number, line in text_lines(part, "GFF3", complete=True):
                if line.strip():
                    last = line.strip()
                if line.startswith("#"):
                    continue
                gid = _gene_id(line)
                if gid is not None:
                    if gid in gene_ids:
                        raise UserError(f"{part}: line {number}: gene id {gid} is also in {gene_ids[gid]}")
                    gene_ids[gid] = part
                out.write(line + "\n")
            if closing[part] and last != END_MARK.strip():
                raise UserError(f"{part}: does not end with helixer-post's closing '###' line: cut off "
                                "(a full disk, an interrupted copy)? Run helixer-post on its part again")
        if END_NOTE in (comments or []):
            out.write(END_MARK)
    return len(gene_ids)
