import numpy as np
import pytest

from helixer_tools.encoding import ONE_HOT, VALID_BASES, encode, encode_reverse_complement

# expected [C, A, T, G] per code (upstream's AMBIGUITY_DECODE; 0.33 is stored as float16 0.33008)
EXPECTED = {
    "C": [1, 0, 0, 0], "A": [0, 1, 0, 0], "T": [0, 0, 1, 0], "G": [0, 0, 0, 1],
    "N": [0.25] * 4,
    "Y": [0.5, 0, 0.5, 0], "R": [0, 0.5, 0, 0.5], "W": [0, 0.5, 0.5, 0], "S": [0.5, 0, 0, 0.5],
    "K": [0, 0, 0.5, 0.5], "M": [0.5, 0.5, 0, 0],
    "D": [0, 0.33, 0.33, 0.33], "V": [0.33, 0.33, 0, 0.33], "H": [0.33, 0.33, 0.33, 0], "B": [0.33, 0, 0.33, 0.33],
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_iupac_vectors_both_cases(code):
    want = np.array(EXPECTED[code], dtype=np.float16)
    assert ONE_HOT.dtype == np.float16
    assert np.array_equal(ONE_HOT[ord(code)], want)
    assert np.array_equal(ONE_HOT[ord(code.lower())], want)


def test_three_base_weight_is_float16_of_0_33():
    assert ONE_HOT[ord("D"), 1] == np.float16(0.33)
    assert float(ONE_HOT[ord("D"), 1]) == pytest.approx(0.33008, abs=1e-5)


def test_only_iupac_letters_are_valid():
    assert set(VALID_BASES) == set(b"ACGTNYRWSKMDVHBacgtnyrwskmdvhb")
    assert not ONE_HOT[ord("U")].any() and not ONE_HOT[ord("-")].any()


def test_encode_pads_at_end():
    row = encode(b"ACGTN", 9)
    assert row.shape == (9, 4) and row.dtype == np.float16
    assert row[:5].tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0.25] * 4]
    assert not row[5:].any()


def test_reverse_complement_is_both_axes_reversed_and_pads_at_end():
    seq = b"AACGTRYN"
    plus = encode(seq, 8)
    minus = encode_reverse_complement(seq, 12)
    assert np.array_equal(minus[:8], plus[::-1, ::-1])
    assert not minus[8:].any()
    # reverse complement of AACG is CGTT
    assert np.array_equal(encode_reverse_complement(b"AACG", 4), encode(b"CGTT", 4))
