"""DNA one-hot encoding in Helixer's layout.

Columns are C, A, T, G. N is 0.25 on every base; the two- and three-base IUPAC codes split their
weight evenly (three-base codes use 0.33, as upstream); padding is all zero. The reverse complement
of an encoded row is the row reversed along both axes, because reversing C,A,T,G gives G,T,A,C.
"""

import numpy as np

COLUMNS = "CATG"

_IUPAC = {
    "C": "C", "A": "A", "T": "T", "G": "G",
    "N": "CATG",
    "Y": "CT", "R": "AG", "W": "AT", "S": "CG", "K": "TG", "M": "CA",
    "D": "ATG", "V": "CAG", "H": "CAT", "B": "CTG",
}

#: bytes accepted in sequence lines, both cases
VALID_BASES = bytes("".join(_IUPAC) + "".join(_IUPAC).lower(), "ascii")
#: bytes removed from sequence lines before encoding
WHITESPACE = b" \t\r\n\v\f"


def _table() -> np.ndarray:
    table = np.zeros((256, 4), dtype=np.float16)
    for code, bases in _IUPAC.items():
        weight = 0.33 if len(bases) == 3 else 1.0 / len(bases)
        for base in bases:
            table[ord(code), COLUMNS.index(base)] = weight
            table[ord(code.lower()), COLUMNS.index(base)] = weight
    return table


#: (256, 4) float16: the encoding of every byte value (invalid bytes encode as padding)
ONE_HOT = _table()
# each 4 x float16 row is 8 bytes: gathering whole rows as uint64 is one lookup per base
_ONE_HOT_U64 = np.ascontiguousarray(ONE_HOT).view(np.uint64).ravel()
_ONE_HOT_REVCOMP_U64 = np.ascontiguousarray(ONE_HOT[:, ::-1]).view(np.uint64).ravel()


def encode(seq: bytes, length: int) -> np.ndarray:
    """One-hot encode ``seq`` (plus strand) into a (length, 4) float16 row, zero-padded at the end."""
    codes = np.frombuffer(seq, dtype=np.uint8)
    out = np.zeros(length, dtype=np.uint64)
    out[: len(codes)] = _ONE_HOT_U64[codes]
    return out.view(np.float16).reshape(length, 4)


def encode_reverse_complement(seq: bytes, length: int) -> np.ndarray:
    """One-hot encode the reverse complement of ``seq`` into a (length, 4) row, zero-padded at the end."""
    codes = np.frombuffer(seq, dtype=np.uint8)[::-1]
    out = np.zeros(length, dtype=np.uint64)
    out[: len(codes)] = _ONE_HOT_REVCOMP_U64[codes]
    return out.view(np.float16).reshape(length, 4)
