"""helixer-evaluate's gene level vs GenomeTools' gt eval, side by side on A. thaliana chromosome 1: RefSeq's
coding genes against a copy with every kind of error (genes dropped, ends and introns moved, isoforms
dropped, strands flipped, false genes added; tests/test_gene_eval.py's perturbation).

    .venv/bin/python benchmarks/bench_gene_eval.py [--repeats 3]

There is no upstream Helixer counterpart for the gene level; gt eval (GenomeTools 1.6, Debian `genometools`,
`scripts/setup.sh --all`) is the reference whose counts ours must equal. gt eval needs sorted input, so both
files are sorted with `gt gff3 -sort -tidy` first (not timed); helixer-evaluate reads them as they are.
Checks that the 12 counts gt eval prints (genes, mRNAs, collapsed exons and CDS exons, exon and CDS bases;
found/reference and correct/predicted) are equal. Writes benchmarks/out/gene_eval.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys

from common import OUT, ROOT, SHARED, max_rss, median_s, ours, side_by_side

sys.path.insert(0, str(ROOT / "tests"))
from test_gene_eval import _gff3_of, _gt_eval, _ours, _perturbed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from helixer_tools.gene_eval import compare, read_gff3

    if not shutil.which("gt"):
        raise SystemExit("GenomeTools' gt is not installed: scripts/setup.sh --all")
    work = OUT / "gene_eval"
    work.mkdir(parents=True, exist_ok=True)
    ref_genes = read_gff3(SHARED / "data/athaliana_chr1/chr1.gff3.gz").genes
    reference, prediction = work / "reference.gff3", work / "perturbed.gff3"
    reference.write_text(_gff3_of(ref_genes))
    prediction.write_text(_gff3_of(_perturbed(ref_genes)))
    theirs = _gt_eval(reference, prediction, work)  # also writes the sorted files gt eval reads
    sorted_ref, sorted_pred = work / "reference.sorted.gff3", work / "perturbed.sorted.gff3"
    equal = _ours(compare(read_gff3(sorted_ref).genes, read_gff3(sorted_pred).genes)) == theirs and len(theirs) == 12
    cases = {
        "gt eval -nuc": ["gt", "eval", "-nuc", str(sorted_ref), str(sorted_pred)],
        "helixer-evaluate": [ours("helixer-evaluate"), "--reference", str(sorted_ref), "--gff3", str(sorted_pred),
                             "--output", str(work / "ours.tsv"), "-q"],
    }
    runs = side_by_side(cases, args.repeats)
    gt, us = median_s(runs["gt eval -nuc"]), median_s(runs["helixer-evaluate"])
    text = ("| input | gt eval -nuc s | gt peak RSS MB | helixer-evaluate s | ours peak RSS MB | speed-up | "
            "counts equal | runs |\n|---|---|---|---|---|---|---|---|\n"
            f"| chr1: {len(ref_genes):,} coding genes vs a perturbed copy | {gt:.2f} | "
            f"{max_rss(runs['gt eval -nuc']):.0f} | {us:.2f} | {max_rss(runs['helixer-evaluate']):.0f} | "
            f"**{gt / us:.1f}x** | {'yes' if equal else 'NO'} | {args.repeats} |\n\n"
            f"median wall time, max peak RSS; {platform.node()}: {os.cpu_count()} cores\n")
    print("\n" + text)
    (OUT / "gene_eval.md").write_text(text)
    (OUT / "gene_eval.json").write_text(json.dumps({k: [r.__dict__ for r in v] for k, v in runs.items()}
                                                   | {"equal": equal}, indent=1))
    if not equal:
        raise SystemExit("the counts differ from gt eval's")


if __name__ == "__main__":
    main()
