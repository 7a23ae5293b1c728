"""helixer-post: gene models (GFF3) from base-wise predictions, HelixerPost's algorithm re-implemented."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from . import common

DESCRIPTION = """\
Turn base-wise predictions (helixer-predict, or upstream HybridModel.py) into gene models: a GFF3 of
gene, mRNA, exon, five_prime_UTR, CDS (with phase) and three_prime_UTR on both strands, sorted by
sequence (genome order) and start.

The algorithm is upstream HelixerPost's: a window of --window-size bases slides over the genic
probability; a candidate region starts where the window's mean reaches --edge-threshold and is kept
if its best window exceeds --peak-threshold; each region gets its cheapest path through a gene-structure
model (intergenic, UTRs, ATG start, three coding phases, TAA/TAG/TGA stop, U2 GT-AG and GC-AG and
U12 AT-AC introns), solved exactly in linear time and memory per region; genes with fewer than
--min-coding-length coding bases are dropped.

Beyond upstream: --min-intron-length (upstream is fixed at 50 bp; fungi have introns of 30-50 bp),
no exons shorter than --min-exon-length and no 5'/3' UTR pieces beside the start/stop codon shorter
than --min-utr-length (upstream emits 1-2 bp ones; reference annotations have almost none), upstream's
Coding1 penalty as intended, sorted and valid GFF3 with unique ids, full sequence names (--fasta),
both padding layouts of minus-strand predictions, clear errors instead of panics, and --threads.
--helixerpost-compatible reproduces upstream's output for side-by-side checks.

example: helixer-post --h5 genome.h5 --predictions predictions.h5 --output genes.gff3 --stats agreement.tsv
"""


def build_parser() -> argparse.ArgumentParser:
    from ..post import Params

    d = Params()
    required, req = common.required_parser()
    req.add_argument("--h5", "--genome", dest="h5", required=True, metavar="H5",
                     help="genome h5 the predictions were made on (helixer-fasta2h5 or upstream fasta2h5.py)")
    req.add_argument("--predictions", "-p", required=True, metavar="H5",
                     help="predictions h5 (helixer-predict, or upstream HybridModel.py)")
    common.output_option(req, "--output", "-o", required=True, metavar="GFF3", help="gene models to write")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("candidate regions (upstream's options)")
    g.add_argument("--window-size", type=common.number(int, 1, 100_000), default=d.window_size,
                   help="bases in the sliding window over the genic probability")
    g.add_argument("--edge-threshold", type=common.number(float, 0, 1), default=d.edge_threshold,
                   help="mean genic probability of a window that starts and continues a candidate region")
    g.add_argument("--peak-threshold", type=common.number(float, 0, 1), default=d.peak_threshold,
                   help="a candidate region is kept when its best window's mean exceeds this (0.9-0.975: more "
                        "precision, fewer genes)")
    g = opts.add_argument_group("gene models")
    g.add_argument("--min-coding-length", type=common.number(int, 0), default=d.min_coding_length,
                   help="genes with fewer coding bases are dropped")
    g.add_argument("--min-intron-length", type=common.number(int, 10, 10_000), default=d.min_intron_length,
                   help="shortest intron (U2; U12 introns are at least 30 or this, whichever is smaller); "
                        "upstream is fixed at 50; 20-40 for fungi with short introns")
    g.add_argument("--min-exon-length", type=common.number(int, 1, 1000), default=d.min_exon_length,
                   help="shortest exon (upstream: 1); 1-2 bp exons are artefacts, almost absent from reference "
                        "annotations")
    g.add_argument("--min-utr-length", type=common.number(int, 1, 1000), default=d.min_utr_length,
                   help="5'/3' UTR pieces beside the start/stop codon shorter than this are trimmed (the model must "
                        "pass through a UTR; upstream emits 1 bp UTRs)")
    g.add_argument("--helixerpost-compatible", action="store_true",
                   help="reproduce upstream HelixerPost exactly (its Coding1 penalty, minimum exon and UTR length 1), "
                        "for side-by-side comparison")
    g = opts.add_argument_group("inputs and outputs")
    g.add_argument("--predictions-padding", choices=("end", "start"), default=None,
                   help="where padded minus-strand rows of the predictions have their padding; helixer-predict "
                        "records it; upstream HybridModel.py >= 0.3.6: start, older: end")
    g.add_argument("--fasta", metavar="FASTA",
                   help="the genome FASTA, for full sequence names in the GFF3 (h5 files hold 50 characters; "
                        "upstream fasta2h5.py truncates longer names)")
    g.add_argument("--rename-map", metavar="TSV",
                   help="the map helixer-fasta2h5 --rename-map wrote: the GFF3 gets the full sequence ids back")
    common.output_option(g, "--stats", metavar="TSV",
                            help="agreement of the gene models with the raw predictions per class (upstream's 'ML v HP')")
    return common.make_parser("helixer-post", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from .. import post

    params = post.Params(args.window_size, args.edge_threshold, args.peak_threshold, args.min_coding_length,
                         args.min_intron_length, args.min_exon_length, args.min_utr_length)
    if args.helixerpost_compatible:  # upstream's Coding1 penalty, exons and UTRs of any length
        params = dataclasses.replace(params, min_exon_length=1, min_utr_length=1, upstream_coding1=True)
    post.annotate(args.h5, args.predictions, args.output, params, stats=args.stats, fasta_path=args.fasta,
                  padding=args.predictions_padding, threads=args.threads, rename_map=args.rename_map,
                  argv=["helixer-post", *argv],
                  progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
