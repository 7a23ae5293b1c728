"""One self-contained HTML report of an evaluation: tables and plots, predictions side by side.

Nothing is loaded from elsewhere (styles inline, plots embedded as PNG data), so the file can be mailed,
kept in a Galaxy history or opened from a pipeline's results without a server.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from typing import Sequence

from . import __version__
from .atomic import write_text
from .gene_eval import LEVELS, STATS

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 72em;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f1f3f6; } td:first-child, th:first-child { text-align: left; }
td.up { color: #0a7a2f; font-weight: 600; } td.down { color: #b3261e; font-weight: 600; }
.muted { color: #666; font-size: 0.88em; } img { max-width: 100%; border: 1px solid #eee; }
dl.inputs dt { font-weight: 600; } dl.inputs dd { margin: 0 0 0.4em 1.2em; font-family: monospace; }
"""
BASE_ROWS = (("genic_f1", "genic F1 (UTR, CDS, intron)"), ("sub_genic_f1", "sub-genic F1 (CDS, intron)"),
             ("phase_f1", "phase F1 (phase 0-2)"),
             ("coding_phase_f1", "coding phase F1 (phases 0-2 where CDS is called, as the gene models use them)"), ("f1_intergenic", "intergenic F1"), ("f1_UTR", "UTR F1"),
             ("f1_CDS", "CDS F1"), ("f1_intron", "intron F1"), ("f1_phase_0", "phase 0 F1"),
             ("f1_phase_1", "phase 1 F1"), ("f1_phase_2", "phase 2 F1"))
HEADLINE = (("base", "genic_f1", "base-wise genic F1"), ("base", "phase_f1", "base-wise phase F1"),
            ("base", "coding_phase_f1", "base-wise coding phase F1"),
            ("gene", "coding_gene_f1", "gene F1 (CDS exact)"), ("gene", "coding_transcript_f1", "mRNA F1 (CDS exact)"),
            ("gene", "cds_exon_f1", "CDS exon F1"), ("gene", "intron_f1", "intron F1"),
            ("gene", "gene_f1", "gene F1 (with UTRs, as gt eval)"), ("gene", "exon_f1", "exon F1"))


def _png(draw, results) -> str:
    buf = io.BytesIO()
    draw(results, buf)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _diff_cell(value: float, digits: int = 4) -> str:
    if digits == 0:  # counts and sizes: more is not better, so not coloured
        return f"<td>{value:+,.0f}</td>"
    cls = "up" if value > 5e-5 else "down" if value < -5e-5 else ""
    return f'<td class="{cls}">{value:+.4f}</td>'


def _table(names: Sequence[str], rows: list[tuple[str, list[float], list[str] | None]], digits: int = 4) -> str:
    """Rows of (label, values, tooltips); a difference column to the first for every further file."""
    e = html.escape
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    head += "".join(f"<th>{e(n)} &minus; {e(names[0])}</th>" for n in names[1:])
    body = []
    for label, values, tips in rows:
        fmt = ",.0f" if digits == 0 else f".{digits}f"
        cells = "".join(f'<td title="{e(t)}">{v:{fmt}}</td>' if t else f"<td>{v:{fmt}}</td>"
                        for v, t in zip(values, tips or [None] * len(values)))
        cells += "".join(_diff_cell(v - values[0], digits) for v in values[1:])
        body.append(f"<tr><td>{e(label)}</td>{cells}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(path: str, base=None, genes=None, inputs: dict[str, str] | None = None) -> None:
    """The report of base-wise results (helixer_tools.evaluate) and/or gene-level ones (gene_eval)."""
    from .plots import evaluation_plot, gene_level_plot

    e = html.escape
    names = [r.name for r in (genes or base)]
    parts = [f"<h1>Gene predictions compared: {' vs '.join(e(n) for n in names)}</h1>",
             f'<p class="muted">helixer-evaluate {__version__}, '
             f'{datetime.datetime.now().isoformat(timespec="minutes")}.</p>']
    summaries = {"base": [r.summary() for r in base] if base else None,
                 "gene": [r.summary() for r in genes] if genes else None}
    headline = [(label, [s[key] for s in summaries[kind]], None) for kind, key, label in HEADLINE if summaries[kind]]
    parts += ["<h2>Summary</h2>", _table(names, headline)]
    if genes:
        parts += ["<h2>Gene level</h2>",
                  "<p>Predicted gene models (GFF3) against the reference's. <b>Sensitivity</b>: reference features "
                  "found; <b>precision</b>: predicted features that are right. <b>(CDS)</b>: an mRNA is right when "
                  "its CDS exons, all of them, equal a reference mRNA's; a gene when one of its mRNAs is (UTRs do "
                  "not count, as BRAKER and Tiberius report gene models). Without (CDS), a gene or mRNA is right when "
                  "its span and exons, UTRs included, equal the reference's (gt eval's levels); exons, CDS exons and "
                  "introns count when their start and end are exact; an intron chain when all introns of a "
                  "transcript are; bases count per strand. "
                  f"{genes[0].levels['gene'].reference:,} reference genes; predicted genes: "
                  f"{', '.join(f'{e(g.name)} {g.genes:,}' for g in genes)}. Hover a number for its counts.</p>"]
        for what in ("f1", "sensitivity", "precision"):
            rows = []
            for level, label in LEVELS:
                levels = [g.levels[level] for g in genes]
                tips = [f"{lv.found:,} of {lv.reference:,} reference {label} found; {lv.correct:,} of "
                        f"{lv.predicted:,} predicted {label} right" for lv in levels]
                rows.append((label, [getattr(lv, what) for lv in levels], tips))
            parts += [f"<h3>{what if what != 'f1' else 'F1'}</h3>", _table(names, rows)]
        parts.append(f'<p><img alt="gene-level sensitivity, precision and F1" src="{_png(gene_level_plot, genes)}"></p>')
        parts += ["<h3>Gene models: counts and sizes</h3>",
                  "<p>Fragmented predictions show as many short genes and reference genes split over several "
                  "predicted ones; fused ones as predicted genes merging several reference genes (CDS overlapping "
                  "on the same strand).</p>",
                  _table(names, [(label, [g.stats[key] for g in genes], None) for key, label in STATS], digits=0)]
    if base:
        parts += ["<h2>Base-wise</h2>",
                  "<p>Every base's class (intergenic, UTR, CDS, intron) and phase, as upstream Helixer scores its "
                  "models; bases in GeenuFF error regions and padding are not counted. <b>Coding phase F1</b> scores "
                  "the phase as the gene models read it: the likeliest of phases 0-2 where the likeliest class is "
                  "CDS (the probability of 'no phase' is never used by HelixerPost). A model unsure of the phase "
                  "loses phase F1 (its argmax turns to 'no phase') without losing coding phase F1.</p>",
                  _table(names, [(label, [s[key] for s in summaries["base"]], None) for key, label in BASE_ROWS]),
                  f'<p><img alt="base-wise F1 and confusion matrices" src="{_png(evaluation_plot, base)}"></p>']
    if inputs:
        parts += ["<h2>Inputs</h2>", '<dl class="inputs">']
        parts += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in inputs.items()]
        parts.append("</dl>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>helixer-evaluate: {' vs '.join(e(n) for n in names)}</title><style>{STYLE}</style></head>"
           "<body>\n" + "\n".join(parts) + "\n</body></html>\n")
    write_text(path, doc)
