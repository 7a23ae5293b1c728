"""The labelling core: classes, phases, transitions, masks, gene lengths, and windowing."""

import numpy as np
import pytest

from helixer_tools.labels import CDS, ERROR, INTRON, TRANSCRIPT, StrandFeatures, label_window, split_points


def feats(*rows):
    """rows of (kind, start, end, phase) as plus-strand python slices."""
    if not rows:
        return StrandFeatures.empty()
    k, s, e, p = zip(*rows)
    return StrandFeatures(np.array(k, np.int8), np.array(s, np.int64), np.array(e, np.int64), np.array(p, np.int8))


# a gene on [2, 20): UTR 2-4, CDS 4-17 with an intron 8-11, UTR 17-20
GENE = feats((TRANSCRIPT, 2, 20, 0), (CDS, 4, 17, 0), (INTRON, 8, 11, 0))


def test_classes_plus_strand():
    lab = label_window(GENE, True, 0, 24)
    classes = lab.y.argmax(1).tolist()
    assert classes == [0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0]
    assert (lab.y.sum(1) == 1).all() and lab.y.dtype == np.int8


def test_phase_pattern_skips_introns_plus():
    lab = label_window(GENE, True, 0, 24)
    phase = lab.phases.argmax(1).tolist()
    # coding bases 4-7 and 11-16 (10 bp): 1,3,2,1 | 3,2,1,3,2,1 ; everything else class 0
    assert phase[4:8] == [1, 3, 2, 1] and phase[8:11] == [0, 0, 0] and phase[11:17] == [3, 2, 1, 3, 2, 1]
    assert phase[:4] == [0] * 4 and phase[17:] == [0] * 7


def test_phase_is_rolled_by_gff_phase_and_reversed_on_minus():
    plus = label_window(feats((TRANSCRIPT, 0, 9, 0), (CDS, 0, 9, 1)), True, 0, 9).phases.argmax(1).tolist()
    assert plus == np.tile(np.roll([1, 3, 2], 1), 3).tolist()
    minus = label_window(feats((TRANSCRIPT, 0, 8, 0), (CDS, 0, 8, 0)), False, 0, 8).phases.argmax(1).tolist()
    # 8 coding bases on the minus strand, returned 5'->3' on that strand: 1,3,2 from its first codon
    assert minus == [1, 3, 2, 1, 3, 2, 1, 3]


def test_minus_strand_is_the_plus_computation_reversed_with_starts_and_ends_swapped():
    """Upstream labels the minus strand in plus-strand order, then reverses: check that reading."""
    plus_frame = label_window(GENE, True, 0, 24)
    mirrored = feats((TRANSCRIPT, 24 - 20, 24 - 2, 0), (CDS, 24 - 17, 24 - 4, 0), (INTRON, 24 - 11, 24 - 8, 0))
    minus = label_window(mirrored, False, 0, 24)
    assert np.array_equal(minus.y, plus_frame.y)
    assert np.array_equal(minus.transitions, plus_frame.transitions[:, [3, 4, 5, 0, 1, 2]])


def test_transitions_two_bases_around_each_change():
    lab = label_window(GENE, True, 0, 24)
    t = lab.transitions
    assert t[:, 0].nonzero()[0].tolist() == [1, 2]      # transcript starts at 2
    assert t[:, 3].nonzero()[0].tolist() == [19, 20]    # transcript ends after 19
    assert t[:, 1].nonzero()[0].tolist() == [3, 4]      # CDS start
    assert t[:, 2].nonzero()[0].tolist() == [7, 8]      # intron start
    assert t[:, 5].nonzero()[0].tolist() == [10, 11]    # intron end
    assert label_window(feats((TRANSCRIPT, 5, 6, 0)), True, 0, 9).transitions[5].tolist() == [1, 0, 0, 1, 0, 0]
    assert label_window(feats((TRANSCRIPT, 5, 6, 0)), True, 0, 9).transitions[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0]


def test_error_mask_and_longest_gene_length():
    f = feats((TRANSCRIPT, 0, 10, 0), (TRANSCRIPT, 5, 30, 0), (ERROR, 12, 15, 0))
    lab = label_window(f, True, 0, 32)
    assert lab.sample_weights.tolist() == [1] * 12 + [0] * 3 + [1] * 17
    assert lab.gene_lengths.tolist() == [10] * 5 + [25] * 25 + [0] * 2
    assert lab.gene_lengths.dtype == np.uint32


def random_features(rng, length, n_genes):
    rows = []
    for _ in range(n_genes):
        a = int(rng.integers(0, length - 60))
        b = a + int(rng.integers(30, 60))
        c0, c1 = a + int(rng.integers(1, 8)), b - int(rng.integers(1, 8))
        rows += [(TRANSCRIPT, a, b, 0), (CDS, c0, c1, int(rng.integers(0, 3)))]
        if rng.random() < 0.6:
            i0 = int(rng.integers(c0 + 1, c1 - 5))
            rows.append((INTRON, i0, i0 + int(rng.integers(2, 5)), 0))
        if rng.random() < 0.3:
            e0 = int(rng.integers(0, length - 10))
            rows.append((ERROR, e0, e0 + int(rng.integers(1, 10)), 0))
    rows.sort(key=lambda r: r[1])
    return feats(*rows)


@pytest.mark.parametrize("seed", range(12))
def test_windows_at_safe_splits_equal_the_whole_sequence(seed):
    rng = np.random.default_rng(seed)
    L, length = 18, 1000 + seed * 37
    plus, minus = random_features(rng, length, 25), random_features(rng, length, 25)
    points = split_points([plus, minus], length, L, window_chunks=2)
    assert points[0] == 0 and points[-1] == -(-length // L) and len(points) > 3
    for f, strand in ((plus, True), (minus, False)):
        whole = label_window(f, strand, 0, length)
        for w0, w1 in zip(points, points[1:]):
            a, b = w0 * L, min(w1 * L, length)
            part = label_window(f, strand, a, b)
            lo, hi = (a, b) if strand else (length - b, length - a)  # minus arrays run 5'->3' on minus
            for name in ("y", "phases", "transitions", "sample_weights", "gene_lengths"):
                assert np.array_equal(getattr(part, name), getattr(whole, name)[lo:hi]), (seed, name, w0, w1)


def test_split_points_avoid_feature_edges_and_cds_interiors():
    L = 10
    f = feats((TRANSCRIPT, 20, 45, 0), (CDS, 22, 61, 0))  # edge at 20 (boundary 2); CDS contains 30..60
    points = split_points([f, StrandFeatures.empty()], 100, L, window_chunks=1)
    assert points == [0, 1, 7, 8, 9, 10]  # 2 is an edge; 3-6 lie inside the CDS (22..61)
