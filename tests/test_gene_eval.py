"""Gene-level evaluation (helixer-evaluate --reference --gff3): hand-counted cases, the same counts as
GenomeTools' gt eval on real gene models, regions, the CLI and its HTML report rendered in Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from helixer_tools.cli import evaluate as cli
from helixer_tools.errors import UserError
from helixer_tools.gene_eval import (Gene, Transcript, compare, evaluate_gff3, gene_model_stats, read_gff3,
                                     regions_of)

DATA = Path(__file__).parent / "data"
# on the test command (scripts/test.sh) a missing gt or Chromium fails these tests instead of skipping them
NEEDED = os.environ.get("HELIXER_TOOLS_REQUIRE_STATIC_TOOLS") == "1"
REFERENCE = DATA / "athaliana_1M" / "chr1_1M.gff3.gz"  # RefSeq, with isoforms, ncRNA genes, pseudogenes
PREDICTED = DATA / "athaliana_1M" / "chr1_1M.predicted.gff3.gz"  # helixer-post of chr1_0-10M.model.h5

REF = """##gff-version 3
s1\tr\tgene\t100\t900\t.\t+\t.\tID=g1
s1\tr\tmRNA\t100\t900\t.\t+\t.\tID=g1.t1;Parent=g1
s1\tr\texon\t100\t300\t.\t+\t.\tParent=g1.t1
s1\tr\texon\t500\t900\t.\t+\t.\tParent=g1.t1
s1\tr\tCDS\t150\t300\t.\t+\t0\tParent=g1.t1
s1\tr\tCDS\t500\t800\t.\t+\t2\tParent=g1.t1
s1\tr\tgene\t2000\t2600\t.\t-\t.\tID=g2
s1\tr\tmRNA\t2000\t2600\t.\t-\t.\tID=g2.t1;Parent=g2
s1\tr\texon\t2000\t2600\t.\t-\t.\tParent=g2.t1
s1\tr\tCDS\t2100\t2500\t.\t-\t0\tParent=g2.t1
s1\tr\tgene\t3000\t3500\t.\t+\t.\tID=nc;gene_biotype=lncRNA
s1\tr\tlnc_RNA\t3000\t3500\t.\t+\t.\tID=nc.t1;Parent=nc
s1\tr\texon\t3000\t3500\t.\t+\t.\tParent=nc.t1
s1\tr\tpseudogene\t4000\t4500\t.\t+\t.\tID=ps
s1\tr\tmRNA\t4000\t4500\t.\t+\t.\tID=ps.t1;Parent=ps
s1\tr\texon\t4000\t4500\t.\t+\t.\tParent=ps.t1
"""
# g1 exact; g2's end 3 bp short; a false gene on the minus strand where g1 is
PRED = """##gff-version 3
s1\tp\tgene\t100\t900\t.\t+\t.\tID=a
s1\tp\tmRNA\t100\t900\t.\t+\t.\tID=a.1;Parent=a
s1\tp\texon\t100\t300\t.\t+\t.\tParent=a.1
s1\tp\tCDS\t150\t300\t.\t+\t0\tParent=a.1
s1\tp\tCDS\t500\t800\t.\t+\t2\tParent=a.1
s1\tp\texon\t500\t900\t.\t+\t.\tParent=a.1
s1\tp\tgene\t2000\t2597\t.\t-\t.\tID=b
s1\tp\tmRNA\t2000\t2597\t.\t-\t.\tID=b.1;Parent=b
s1\tp\texon\t2000\t2597\t.\t-\t.\tParent=b.1
s1\tp\tCDS\t2100\t2500\t.\t-\t0\tParent=b.1
s1\tp\tgene\t200\t400\t.\t-\t.\tID=c
s1\tp\tmRNA\t200\t400\t.\t-\t.\tID=c.1;Parent=c
s1\tp\tCDS\t200\t400\t.\t-\t0\tParent=c.1
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _counts(level) -> tuple[int, int, int, int]:
    return level.found, level.reference, level.correct, level.predicted


def test_counts_by_hand(tmp_path):
    ref = read_gff3(_write(tmp_path, "ref.gff3", REF))
    assert [g.start for g in ref.genes] == [100, 2000]  # the lncRNA gene is not coding, the pseudogene masked
    assert ref.masked == 1
    levels = compare(ref.genes, read_gff3(_write(tmp_path, "pred.gff3", PRED)).genes)
    assert _counts(levels["gene"]) == (1, 2, 1, 3)
    assert _counts(levels["transcript"]) == (1, 2, 1, 3)
    # exons: ref {100-300, 500-900, 2000-2600-}; pred {100-300, 500-900, 2000-2597-, 200-400- (from its CDS)}
    assert _counts(levels["exon"]) == (2, 3, 2, 4)
    assert _counts(levels["cds_exon"]) == (3, 3, 3, 4)
    assert _counts(levels["intron"]) == (1, 1, 1, 1)
    assert _counts(levels["intron_chain"]) == (1, 1, 1, 1)
    assert _counts(levels["exon_bases"]) == (201 + 401 + 598, 201 + 401 + 601, 1200, 201 + 401 + 598 + 201)
    assert _counts(levels["cds_bases"]) == (151 + 301 + 401, 853, 853, 853 + 201)
    assert levels["gene"].sensitivity == 0.5 and levels["gene"].precision == pytest.approx(1 / 3)
    assert levels["gene"].f1 == pytest.approx(2 * 0.5 / 3 / (0.5 + 1 / 3))


def _coding(seqid, strand, cds_chains, utr=5):
    """A gene whose transcripts have the given CDS exon chains and ``utr`` bp of UTR on each end."""
    ts = []
    for cds in cds_chains:
        exons = ((cds[0][0] - utr, cds[0][1]), *cds[1:-1], (cds[-1][0], cds[-1][1] + utr)) if len(cds) > 1 \
            else ((cds[0][0] - utr, cds[0][1] + utr),)
        ts.append(Transcript(seqid, strand, exons[0][0], exons[-1][1], exons, tuple(cds)))
    return Gene(seqid, strand, min(t.start for t in ts), max(t.end for t in ts), ts)


def test_coding_levels_by_hand():
    ref = [_coding("s", "+", [((100, 200), (300, 400))]),                      # r0: found by p0 (UTRs differ)
           _coding("s", "+", [((1000, 1100), (1200, 1300)), ((1000, 1100), (1250, 1300))]),  # r1: 2nd isoform
           _coding("s", "-", [((2000, 2300),)]),                                  # r2: split by p2, p3
           _coding("s", "+", [((3000, 3100),)]), _coding("s", "+", [((3200, 3300),)]),  # r3, r4: merged by p4
           _coding("t", "+", [((10, 90),)])]                                      # r5: missed
    pred = [_coding("s", "+", [((100, 200), (300, 400))], utr=50),              # p0: CDS right, UTRs wrong
            _coding("s", "+", [((1000, 1100), (1250, 1300))]),                  # p1: one of r1's isoforms
            _coding("s", "-", [((2000, 2100),)]), _coding("s", "-", [((2200, 2300),)]),  # p2, p3: fragments
            _coding("s", "+", [((3000, 3100), (3200, 3300))]),                  # p4: fusion
            _coding("s", "-", [((100, 200), (300, 400))])]                      # p5: r0's CDS on the other strand
    levels = compare(ref, pred)
    # transcripts by CDS chain: r0.t, r1.t2 found (of 7); p0, p1 right (of 6)
    assert _counts(levels["coding_transcript"]) == (2, 7, 2, 6)
    assert _counts(levels["coding_gene"]) == (2, 6, 2, 6)
    assert levels["coding_gene"].f1 == pytest.approx(1 / 3)
    # gt eval's levels need the UTR ends too: p1 has r1's span and one of its exon chains; p0's UTRs differ
    assert levels["gene"].found == 1 and levels["transcript"].found == 1
    stats = gene_model_stats(ref, pred)
    assert stats["reference_genes"] == 6 and stats["predicted_genes"] == 6
    assert stats["reference_genes_split"] == 1  # r2
    assert stats["predicted_genes_merged"] == 1  # p4
    assert stats["reference_genes_missed"] == 1  # r5
    # CDS lengths (longest isoform): r 202, 202, 301, 101, 101, 81 -> 151.5; p 202, 152, 101, 101, 202, 202 -> 177
    assert stats["reference_median_cds_length"] == 151.5
    assert stats["predicted_median_cds_length"] == 177
    assert stats["predicted_median_gene_length"] == 311  # 401, 311, 111, 111, 311, 401


def test_coding_levels_in_outputs(tmp_path):
    (res,) = evaluate_gff3(str(_write(tmp_path, "ref.gff3", REF)), [str(_write(tmp_path, "p.gff3", PRED))], ["p"])
    # g1's and g2's CDS chains are predicted (b's UTR end is 3 bp short, which gt eval's level does not forgive)
    assert _counts(res.levels["coding_gene"]) == (2, 2, 2, 3)
    assert _counts(res.levels["gene"]) == (1, 2, 1, 3)
    s = res.summary()
    assert s["coding_gene_f1"] == pytest.approx(0.8) and s["predicted_genes"] == 3 and s["reference_genes"] == 2


def _gene(start, chains):
    ts = [Transcript("s", "+", start, max(e for c in chains for _, e in c), tuple(c), tuple(c)) for c in chains]
    return Gene("s", "+", start, ts[0].end, ts)


def test_isoforms():
    two = _gene(1, [((1, 10), (20, 30)), ((1, 12), (20, 30))])
    # one right isoform of a two-isoform gene finds it; a wrong one does not (gt eval would count both:
    # with different numbers of mRNAs it compares the spans only)
    assert compare([two], [_gene(1, [((1, 12), (20, 30))])])["gene"].found == 1
    assert compare([two], [_gene(1, [((1, 5), (20, 30))])])["gene"].found == 0
    # the same number of mRNAs: all must agree
    assert compare([two], [_gene(1, [((1, 12), (20, 30)), ((1, 10), (20, 30))])])["gene"].found == 1
    assert compare([two], [_gene(1, [((1, 12), (20, 30)), ((1, 11), (20, 30))])])["gene"].found == 0
    # each reference gene is found once, however many predicted genes equal it
    one = _gene(1, [((1, 10), (20, 30))])
    assert _counts(compare([one], [one, one])["gene"]) == (1, 1, 1, 2)
    assert _counts(compare([one], [one, one])["intron_chain"]) == (1, 1, 2, 2)


def test_regions(tmp_path):
    bed = _write(tmp_path, "r.bed", "track name=x\ns1\t0\t1000\ns1\t1990\t2599\n")
    assert regions_of(str(bed)) == {"s1": [(1, 1000), (1991, 2599)]}
    (res,) = evaluate_gff3(str(_write(tmp_path, "ref.gff3", REF)), [str(_write(tmp_path, "p.gff3", PRED))], ["p"],
                           str(bed))
    # g2 (2000-2600) sticks out of the second region, b (2000-2597) does not
    assert _counts(res.levels["gene"]) == (1, 1, 1, 3)
    h5 = tmp_path / "rows.h5"
    with h5py.File(h5, "w") as f:  # two rows of each strand: 0-1000 and 1000-2000, minus strand reversed
        f["data/seqids"] = np.array([b"s1"] * 4)
        f["data/start_ends"] = np.array([[0, 1000], [1000, 2000], [2000, 1000], [1000, 0]])
    assert regions_of(str(h5)) == {"s1": [(1, 2000)]}


def test_regions_of_unknown_sequences_and_cut_files_are_not_silent(tmp_path, caplog):
    """A BED naming sequences neither file has a gene on is warned about (another assembly's?); a GFF3 cut
    off mid-line is refused, not read as if it were whole."""
    caplog.set_level("WARNING", logger="helixer_tools")
    bed = _write(tmp_path, "r.bed", "s1\t0\t3000\nchrUn_other\t0\t100\n")
    ref, pred = str(_write(tmp_path, "ref.gff3", REF)), str(_write(tmp_path, "p.gff3", PRED))
    evaluate_gff3(ref, [pred], ["p"], str(bed))
    assert "r.bed: 1 of its sequences (chrUn_other) have no gene in" in caplog.text
    cut = _write(tmp_path, "cut.gff3", PRED[:-5])
    with pytest.raises(UserError, match="cut.gff3: line .*: the file ends mid-line, without a newline: cut off"):
        evaluate_gff3(ref, [str(cut)], ["p"])


def test_gene_and_transcript_sharing_an_id(tmp_path):
    """gffread -E --keep-genes (a GTF whose gene_id is its transcript_id): ``gene ID=X``, ``transcript
    ID=X;Parent=X``, parts ``Parent=X`` read as the same file with distinct IDs, as import2geenuff reads it."""
    import gzip

    made = DATA / "micromonas/micromonas.gffread_shared_ids.gff3.gz"
    text = gzip.decompress(made.read_bytes()).decode()
    distinct = re.sub(r"\tgene\t(.*)\tID=([^;\n]+)", r"\tgene\t\1\tID=\2.gene", text)
    distinct = re.sub(r"\ttranscript\t(.*)\tID=([^;\n]+);Parent=([^;\n]+)", r"\ttranscript\t\1\tID=\2;Parent=\3.gene",
                      distinct)
    assert distinct.count(".gene") == 2 * 124
    (tmp_path / "distinct.gff3").write_text(distinct)
    shared, expected = read_gff3(made), read_gff3(tmp_path / "distinct.gff3")
    assert len(shared.genes) == 124 and sum(len(g.transcripts) for g in shared.genes) == 124
    assert [(g.seqid, g.start, g.end, [(t.exons, t.cds) for t in g.transcripts]) for g in shared.genes] == \
        [(g.seqid, g.start, g.end, [(t.exons, t.cds) for t in g.transcripts]) for g in expected.genes]
    assert sum(bool(t.cds) for g in shared.genes for t in g.transcripts) == 124


def test_read_errors(tmp_path):
    with pytest.raises(UserError, match=r"bad.gff3: line 2: expected 9 tab-separated columns, found 8"):
        read_gff3(_write(tmp_path, "bad.gff3", "##gff-version 3\ns1\tr\tgene\t1\t9\t.\t+\t.\n"))
    with pytest.raises(UserError, match=r"dup.gff3: line 3: ID .g1. is already used on line 2 by a gene on s1"):
        read_gff3(_write(tmp_path, "dup.gff3", "##gff-version 3\ns1\tr\tgene\t1\t9\t.\t+\t.\tID=g1\ns1\tr\tmRNA\t1\t9\t.\t+\t.\tID=g1\n"))
    # one CDS ID under two mRNAs (import2geenuff reads it so too): each mRNA has the CDS
    two = ("##gff-version 3\ns1\tr\tgene\t1\t900\t.\t+\t.\tID=g\n"
           "s1\tr\tmRNA\t1\t900\t.\t+\t.\tID=t1;Parent=g\ns1\tr\tmRNA\t1\t900\t.\t+\t.\tID=t2;Parent=g\n"
           "s1\tr\texon\t1\t900\t.\t+\t.\tParent=t1,t2\n"
           "s1\tr\tCDS\t100\t800\t.\t+\t0\tID=c;Parent=t1\ns1\tr\tCDS\t100\t800\t.\t+\t0\tID=c;Parent=t2\n")
    (gene,) = read_gff3(_write(tmp_path, "two.gff3", two)).genes
    assert [t.cds for t in gene.transcripts] == [((100, 800),), ((100, 800),)]
    # CDS parts sharing one ID (NCBI) are one feature, not a duplicate
    text = REF.replace("Parent=g1.t1\ns1\tr\tCDS\t500", "Parent=g1.t1;ID=cds1\ns1\tr\tCDS\t500")
    text = text.replace("CDS\t150\t300\t.\t+\t0\tParent=g1.t1", "CDS\t150\t300\t.\t+\t0\tID=cds1;Parent=g1.t1")
    assert read_gff3(_write(tmp_path, "cds.gff3", text)).genes[0].transcripts[0].cds == ((150, 300), (500, 800))
    with pytest.raises(UserError, match="none of its sequences"):
        evaluate_gff3(str(_write(tmp_path, "ref.gff3", REF)), [str(_write(tmp_path, "o.gff3", PRED.replace("s1", "chr1")))],
                      ["o"])


# --- the same counts as GenomeTools' gt eval ---------------------------------------------------------------

def _gff3_of(genes) -> str:
    """Gene models written plainly (gene, mRNA, exon, CDS), for gt eval."""
    lines = ["##gff-version 3"]
    for i, g in enumerate(genes):
        lines.append(f"{g.seqid}\tt\tgene\t{g.start}\t{g.end}\t.\t{g.strand}\t.\tID=g{i}")
        for j, t in enumerate(g.transcripts):
            lines.append(f"{t.seqid}\tt\tmRNA\t{t.start}\t{t.end}\t.\t{t.strand}\t.\tID=g{i}.t{j};Parent=g{i}")
            lines += [f"{t.seqid}\tt\texon\t{a}\t{b}\t.\t{t.strand}\t.\tParent=g{i}.t{j}" for a, b in t.exons]
            lines += [f"{t.seqid}\tt\tCDS\t{a}\t{b}\t.\t{t.strand}\t0\tParent=g{i}.t{j}" for a, b in t.cds]
    return "\n".join(lines) + "\n"


def _perturbed(genes) -> list[Gene]:
    """The reference with every kind of error, deterministically: genes dropped, ends moved, introns moved,
    isoforms dropped, strands flipped, and false genes added."""
    out = []
    for i, g in enumerate(genes):
        kind = i % 8
        ts = list(g.transcripts)
        if kind == 0:
            continue
        if kind == 1:  # the first exon starts 5 bp earlier: gene, mRNA and that exon wrong
            ts = [Transcript(t.seqid, t.strand, t.start - 5, t.end, ((t.exons[0][0] - 5, t.exons[0][1]),) + t.exons[1:],
                             t.cds) for t in ts]
            g = Gene(g.seqid, g.strand, g.start - 5, g.end, ts)
        elif kind == 2 and len(ts) > 1:  # one isoform fewer
            g = Gene(g.seqid, g.strand, g.start, g.end, ts[:-1])
        elif kind == 3 and len(ts[0].exons) > 2:  # an internal exon 2 bp shorter: an intron moves
            t = ts[0]
            e = t.exons[1]
            ts[0] = Transcript(t.seqid, t.strand, t.start, t.end, t.exons[:1] + ((e[0] + 2, e[1]),) + t.exons[2:], t.cds)
            g = Gene(g.seqid, g.strand, g.start, g.end, ts)
        elif kind == 4:  # the other strand
            s = "-" if g.strand == "+" else "+"
            g = Gene(g.seqid, s, g.start, g.end, [Transcript(t.seqid, s, t.start, t.end, t.exons, t.cds) for t in ts])
        elif kind == 5:  # and a false gene beside it
            out.append(Gene(g.seqid, "+", g.end + 40, g.end + 400, [
                Transcript(g.seqid, "+", g.end + 40, g.end + 400, ((g.end + 40, g.end + 120), (g.end + 300, g.end + 400)),
                           ((g.end + 60, g.end + 120), (g.end + 300, g.end + 350)))]))
        out.append(g)
    return out


_GT_LINE = re.compile(r"^(gene|mRNA|exon) (sensitivity|specificity) \((mRNA|CDS) level(, all, collapsed)?\):\s+"
                      r"[\d.]+% \((\d+)/(\d+)\)")
_GT_NUC = re.compile(r"^nucleotide (sensitivity|specificity) \((mRNA|CDS) level\):.*TP=(\d+)/\(TP=\d+ \+ (FN|FP)=(\d+)\)")


def _gt_eval(reference: Path, prediction: Path, tmp_path: Path) -> dict:
    sorted_files = []
    for path in (reference, prediction):
        out = tmp_path / f"{path.stem}.sorted.gff3"
        with open(out, "w") as fh:
            subprocess.run(["gt", "gff3", "-sort", "-tidy", "-retainids", str(path)], stdout=fh, check=True,
                           stderr=subprocess.DEVNULL)
        sorted_files.append(out)
    text = subprocess.run(["gt", "eval", "-nuc", *map(str, sorted_files)], capture_output=True, text=True,
                          check=True).stdout
    got = {}
    for line in text.splitlines():
        m = _GT_LINE.match(line)
        if m and m.group(3) == "mRNA" or m and m.group(1) == "exon":
            what, kind, level, collapsed, tp, n = m.groups()
            if what == "exon" and not collapsed:
                continue
            name = {"gene": "gene", "mRNA": "transcript", "exon": "exon" if level == "mRNA" else "cds_exon"}[what]
            got[(name, kind)] = (int(tp), int(n))
        m = _GT_NUC.match(line)
        if m:
            kind, level, tp, _, other = m.groups()
            got[("exon_bases" if level == "mRNA" else "cds_bases", kind)] = (int(tp), int(tp) + int(other))
    return got


def _ours(levels) -> dict:
    out = {}
    for name in ("gene", "transcript", "exon", "cds_exon", "exon_bases", "cds_bases"):
        lv = levels[name]
        out[(name, "sensitivity")] = (lv.found, lv.reference)
        out[(name, "specificity")] = (lv.correct, lv.predicted)
    return out


@pytest.mark.skipif(shutil.which("gt") is None and not NEEDED,
                    reason="GenomeTools (gt) not installed (scripts/setup.sh --all)")
@pytest.mark.parametrize("which", ["helixer-post", "perturbed reference"])
def test_same_counts_as_gt_eval(tmp_path, which):
    """gt eval counts every gene and mRNA; ours only coding genes that are not pseudogenes. So gt reads the
    reference's coding genes as we read them (written plainly); the prediction is the file itself."""
    assert shutil.which("gt"), "GenomeTools (gt) is not installed: scripts/setup.sh --all installs it"
    ref = read_gff3(REFERENCE)
    assert len(ref.genes) == 305 and ref.masked == 2  # of RefSeq's 375 genes: ncRNA genes and pseudogenes out
    ref_file = _write(tmp_path, "reference.gff3", _gff3_of(ref.genes))
    if which == "helixer-post":
        pred_file, pred = PREDICTED, read_gff3(PREDICTED).genes
    else:
        pred = _perturbed(ref.genes)
        pred_file = _write(tmp_path, "perturbed.gff3", _gff3_of(pred))
    ours = _ours(compare(read_gff3(ref_file).genes, pred))
    theirs = _gt_eval(ref_file, pred_file, tmp_path)
    assert len(theirs) == 12
    assert ours == theirs
    if which == "perturbed reference":  # the comparison is not trivial: every level has hits and misses
        assert all(0 < tp < n for tp, n in theirs.values()), theirs


# --- the command line and the report ------------------------------------------------------------------------

def test_cli_gene_level(tmp_path, capsys):
    ref, pred = _write(tmp_path, "ref.gff3", REF), _write(tmp_path, "pred.gff3", PRED)
    out = tmp_path / "e.tsv"
    assert cli.main(["--reference", str(ref), "--gff3", str(ref), str(pred), "--names", "self", "pred",
                     "--output", str(out), "--json", str(tmp_path / "e.json"), "--html", str(tmp_path / "e.html")]) == 0
    rows = {r.split("\t")[0]: r.split("\t")[1:] for r in out.read_text().splitlines()}
    assert rows["metric"] == ["self", "pred", "pred - self"]
    assert [float(v) for v in rows["gene_sensitivity"]] == [1.0, 0.5, -0.5]
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["pred"]["gene_level_counts"]["exon"] == {"found": 2, "reference": 3, "correct": 2, "predicted": 4}
    assert "<table>" in (tmp_path / "e.html").read_text()
    for argv, message in (
            ([], "nothing to evaluate"),
            (["--reference", str(ref)], "--reference and --gff3 go together"),
            (["--reference", str(ref), "--gff3", str(pred), "--labels", "x.h5", "--predictions", "a.h5", "b.h5"],
             "2 --predictions but 1 --gff3"),
            (["--reference", str(ref), "--gff3", str(pred), "--plot", str(tmp_path / "p.png")], "--plot shows"),
            (["--reference", str(ref), "--gff3", str(pred), "--names", "a", "b"], "2 --names for 1")):
        capsys.readouterr()
        assert cli.main([*argv, "--output", str(tmp_path / "x.tsv")]) == 1
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.tsv").exists()


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "chromium-headless-shell")
                 if shutil.which(n)), None)


@pytest.mark.skipif(_chromium() is None and not NEEDED, reason="Chromium not installed (scripts/setup.sh --all)")
def test_report_renders_in_chromium(tmp_path):
    """The HTML report opened in headless Chromium: its tables are there and every plot decodes as an image."""
    from helixer_tools.evaluate import evaluate

    assert _chromium(), "Chromium is not installed: scripts/setup.sh --all installs it"
    labels = Path(__file__).parents[1] / "galaxy" / "test-data" / "micromonas_small.labels.h5"
    predictions = labels.with_name("micromonas_small.predictions.h5")
    ref, pred = _write(tmp_path, "ref.gff3", REF), _write(tmp_path, "pred.gff3", PRED)
    from helixer_tools.gene_eval import evaluate_gff3 as gene_level
    from helixer_tools.report import write_html

    base = evaluate(str(labels), [str(predictions)] * 2, ["pretrained", "tuned"])
    genes = gene_level(str(ref), [str(pred), str(ref)], ["pretrained", "tuned"])
    report = tmp_path / "report.html"
    write_html(str(report), base, genes, {"reference": str(ref)})
    probe = tmp_path / "probe.html"  # the report plus a script that records what the browser made of it
    probe.write_text(report.read_text().replace("</body>", """<script>
document.body.dataset.images = Array.from(document.images).map(i => i.complete ? i.naturalWidth + 'x' + i.naturalHeight : 'x').join(' ');
document.body.dataset.rows = Array.from(document.querySelectorAll('table')).map(t => t.rows.length).join(' ');
</script></body>"""))
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    images = re.search(r'data-images="([^"]*)"', dom).group(1).split()
    assert len(images) == 2
    for size in images:  # decoded, and as large as matplotlib drew them (15 x 4.4 in and wider at 120 dpi)
        w, h = map(int, size.split("x"))
        assert w >= 1000 and h >= 400, images
    rows = [int(n) for n in re.search(r'data-rows="([^"]*)"', dom).group(1).split()]
    # summary (9 metrics), gene level F1, sensitivity, precision (10 levels each), gene counts and sizes (9),
    # base-wise (11 metrics); + headers
    assert rows == [10, 11, 11, 11, 10, 12]
    assert "tuned − pretrained" in dom or "tuned &minus; pretrained" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,2400",
                    f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert (pixels < 128).mean() > 0.01  # text and plots drawn, not a blank page


def _as_copies(path: Path, out: Path, order: list[int], interleave: bool = False) -> Path:
    """The gene models of ``path`` on renamed sequences c<k>_chr1 (IDs prefixed), the copies in ``order``;
    ``interleave``: the copies' lines alternate gene by gene, so each sequence comes back many times."""
    import gzip

    lines = [line.rstrip("\n").split("\t") for line in gzip.open(path, "rt") if line.strip() and not line.startswith("#")]
    genes: list[list[list[str]]] = []
    for cols in lines:
        if cols[2] == "gene" or not genes:
            genes.append([])
        genes[-1].append(cols)

    def renamed(k, cols):
        attrs = ";".join(f"{key}=" + ",".join(f"c{k}_{v}" for v in val.split(",")) if key in ("ID", "Parent")
                         else f"{key}={val}" for key, val in (kv.split("=", 1) for kv in cols[8].split(";") if "=" in kv))
        return "\t".join([f"c{k}_chr1", *cols[1:8], attrs])

    if interleave:
        body = [renamed(k, c) for g in genes for k in order for c in g]
    else:
        body = [renamed(k, c) for k in order for g in genes for c in g]
    out.write_text("##gff-version 3\n" + "\n".join(body) + "\n")
    return out


def test_per_sequence_evaluation_counts_as_the_whole_files(tmp_path):
    """evaluate_gff3 compares one sequence at a time, each file's genes waiting on disk: its every level and
    statistic equals the whole files compared at once, whatever the files' sequence order, and a file whose
    sequences come back (lines interleaved) reads the same."""
    ref = _as_copies(REFERENCE, tmp_path / "ref.gff3", [0, 1, 2])
    pred = _as_copies(PREDICTED, tmp_path / "pred.gff3", [2, 0])  # another order, one copy without predictions
    mixed = _as_copies(PREDICTED, tmp_path / "mixed.gff3", [2, 0], interleave=True)
    whole_ref, whole_pred = read_gff3(ref).genes, read_gff3(pred).genes
    assert len(whole_ref) == 3 * len(read_gff3(REFERENCE).genes) and {g.seqid for g in whole_pred} == {"c0_chr1", "c2_chr1"}
    expected = compare(whole_ref, whole_pred)
    stats = gene_model_stats(whole_ref, whole_pred)
    for path in (pred, mixed):
        (res,) = evaluate_gff3(str(ref), [str(path)], ["p"])
        assert res.levels == expected and res.stats == stats and res.genes == len(whole_pred)
    assert expected["coding_gene"].found > 0 and stats["reference_genes_missed"] >= len(whole_ref) / 3


def test_links_across_sequences_read_whole(tmp_path):
    """A Parent on another sequence than its child: the whole file decides, as import2geenuff's reading does."""
    text = REF.replace("s1\tr\tmRNA\t2000\t2600\t.\t-\t.\tID=g2.t1;Parent=g2", "s2\tr\tmRNA\t2000\t2600\t.\t-\t.\tID=g2.t1;Parent=g2")
    path = _write(tmp_path, "across.gff3", text)
    with pytest.raises(UserError) as per_sequence:
        evaluate_gff3(str(path), [str(path)], ["p"])
    from helixer_tools.gff import link, read_rows

    with pytest.raises(UserError) as whole:
        link(path, read_rows(path)[0])
    assert str(per_sequence.value) == str(whole.value)
