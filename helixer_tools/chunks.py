"""Scatter a genome into groups of whole sequences and gather the groups' GFF3s back into one.

The pipeline predicts and decodes a large genome in parallel tasks of about ``chunk_bases`` bases each.
Every step after the split works per sequence (subsequences never cross sequences, overlap and
helixer-post's decoding stay within one), and helixer-post's gene ids carry the sequence id, so the
gathered GFF3 is the one a single task would have written: same features, same order, same ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from .atomic import atomic_path
from .errors import UserError
from .fasta import FastaReader, _seqid


def scatter_fasta(fasta: str | Path, chunk_bases: int, prefix: str | Path) -> list[tuple[Path, list[str], int]]:
    """Write the records of ``fasta`` (plain or compressed), in file order, into ``{prefix}.00001.fa``,
    ``{prefix}.00002.fa``, ...: consecutive whole records, a new file begun once the current one holds
    ``chunk_bases`` bases or more (a sequence longer than that is a file of its own). Headers and sequence
    lines are copied as they are. Returns (path, seqids, bases) per file. Duplicate ids are refused here,
    since no later step, seeing one file, could notice them."""
    fasta = str(fasta)
    groups: list[tuple[Path, list[str], int]] = []
    seen: dict[str, int] = {}
    out, ctx, bases, ids, index, ends_in_newline = None, None, 0, [], 0, True

    def close() -> None:
        nonlocal out, ctx
        if ctx is not None:
            if not ends_in_newline:
                out.write(b"\n")
            out.close()
            ctx.__exit__(None, None, None)
            groups.append((Path(f"{prefix}.{len(groups) + 1:05d}.fa"), ids, bases))
            out = ctx = None

    try:
        for kind, data in FastaReader(fasta).events():
            if kind == "header":
                index += 1
                seqid = _seqid(fasta, index, data)
                if seqid in seen:
                    raise UserError(f"{fasta}: duplicate sequence id {seqid!r} (records {seen[seqid]} and {index}); "
                                    "sequence ids must be unique")
                seen[seqid] = index
                if ctx is None or bases >= chunk_bases:
                    close()
                    ctx = atomic_path(f"{prefix}.{len(groups) + 1:05d}.fa")
                    out = open(ctx.__enter__(), "wb")
                    bases, ids = 0, []
                elif not ends_in_newline:
                    out.write(b"\n")
                ids.append(seqid)
                out.write(b">" + data + b"\n")
                ends_in_newline = True
            elif ctx is None:
                if data.strip():
                    raise UserError(f"{fasta}: not a FASTA file: the first line does not start with '>'")
            else:
                out.write(data)
                bases += len(data) - data.count(b"\n") - data.count(b"\r") - data.count(b" ")
                ends_in_newline = data.endswith(b"\n")
        close()
    except BaseException as e:
        if ctx is not None:
            out.close()
            ctx.__exit__(type(e), e, e.__traceback__)
        raise
    if not groups:
        raise UserError(f"{fasta}: not a FASTA file: no '>' header found")
    return groups


def _gene_id(line: str) -> str | None:
    fields = line.rstrip("\n").split("\t")
    if len(fields) == 9 and fields[2] == "gene":
        for attribute in fields[8].split(";"):
            if attribute.startswith("ID="):
                return attribute[3:]
    return None


def gather_gff3(parts: Sequence[str | Path], output: str | Path) -> int:
    """Concatenate helixer-post GFF3s of disjoint sequence groups, in the order given (the genome's), into
    one GFF3: one ``##gff-version 3``, every part's ``##sequence-region`` lines, the comment lines the parts
    share (settings, model; each part's ``# command:`` line is left out), then every part's features.
    Refused: parts made with different settings or models, a sequence in two parts, a gene id twice.
    Returns the number of genes."""
    if not parts:
        raise UserError("no GFF3 parts to gather")
    pragmas: list[str] = []
    comments: list[str] | None = None
    regions: dict[str, str] = {}
    gene_ids: dict[str, str] = {}
    with atomic_path(output) as tmp, open(tmp, "w") as out:
        bodies: list[Iterable[str]] = []
        for part in parts:
            part = str(part)
            header, own_comments = [], []
            with open(part) as fh:
                for line in fh:
                    if not line.startswith("#"):
                        break
                    header.append(line)
            for line in header:
                if line.startswith("##gff-version"):
                    continue
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
            bodies.append(part)
        out.write("##gff-version 3\n")
        out.writelines(pragmas)
        out.writelines(comments or [])
        for part in bodies:
            with open(part) as fh:
                for number, line in enumerate(fh, 1):
                    if line.startswith("#") and not line.startswith("###"):
                        continue
                    gid = _gene_id(line)
                    if gid is not None:
                        if gid in gene_ids:
                            raise UserError(f"{part}: line {number}: gene id {gid} is also in {gene_ids[gid]}")
                        gene_ids[gid] = part
                    out.write(line)
    return len(gene_ids)
