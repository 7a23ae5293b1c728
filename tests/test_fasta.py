import gzip

import pytest

from helixer_tools.errors import UserError
from helixer_tools.fasta import FastaReader, iter_sequences, scan


def write(tmp_path, text, name="g.fa", compress=False):
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_scan_lengths_ids_and_whitespace(tmp_path):
    path = write(tmp_path, ">a desc here\nACGT\nAC\r\n\n>b\nnnnn nnnn\n>c\tx\nA")
    assert [(r.index, r.seqid, r.length) for r in scan(path)] == [(1, "a", 6), (2, "b", 8), (3, "c", 1)]


def test_gzip_detected_by_content_not_name(tmp_path):
    path = write(tmp_path, ">a\nACGT\n", name="genome.fa", compress=True)
    assert scan(path)[0].length == 4


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 7, 64])
def test_block_boundaries_never_change_the_result(tmp_path, block_size):
    text = ">first one\nACGTACGTAC\nGT\n>second\nNNNNacgt\n>third x\nT\n"
    path = write(tmp_path, text)
    events = list(FastaReader(path, block_size=block_size).events())
    headers = [d for k, d in events if k == "header"]
    assert headers == [b"first one", b"second", b"third x"]
    seqs = []
    for k, d in events:
        if k == "header":
            seqs.append(b"")
        else:
            seqs[-1] += d
    assert [s.replace(b"\n", b"") for s in seqs] == [b"ACGTACGTACGT", b"NNNNacgt", b"T"]


def test_iter_sequences_cleans_and_uppercases(tmp_path):
    path = write(tmp_path, ">a\nacgt\nNN\n>b\nryk\n")
    got = [(sid, b"".join(pieces)) for sid, pieces in iter_sequences(path)]
    assert got == [("a", b"ACGTNN"), ("b", b"RYK")]


def test_iter_sequences_skips_unread_pieces(tmp_path):
    path = write(tmp_path, ">a\nAAAA\nCCCC\n>b\nGG\n")
    ids = [sid for sid, _ in iter_sequences(path)]
    assert ids == ["a", "b"]


@pytest.mark.parametrize("text,message", [
    ("ACGT\n>a\nACGT\n", "not a FASTA file: the first line does not start with '>'"),
    ("", "not a FASTA file: no '>' header found"),
    (">a\nACGT\n>b\n\n>c\nA\n", "record 2 (b) has an empty sequence"),
    (">a\nACGT\n>b\nA\n>a\nC\n", "duplicate sequence id 'a' (records 1 and 3)"),
    (">a\nACGT\n>b\nACGTU\n", "record 2 (b), position 5: character 'U' is not an IUPAC nucleotide code"),
    (">a\nAC\nG-T\n", "record 1 (a), position 4: character '-' is not an IUPAC nucleotide code"),
    (">a\nACG>T\n", "position 4: character '>'"),
    (">\nACGT\n", "record 1 has an empty header"),
])
def test_scan_errors_name_record_and_problem(tmp_path, text, message):
    with pytest.raises(UserError, match=None) as err:
        scan(write(tmp_path, text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_scan_refuses_ids_that_would_be_truncated(tmp_path):
    long_id = "x" * 51
    with pytest.raises(UserError, match=f"record 1: sequence id '{long_id}' is 51 characters, longer than the 50"):
        scan(write(tmp_path, f">{long_id}\nACGT\n"), max_seqid_bytes=50)
    assert scan(write(tmp_path, f">{'x' * 50}\nACGT\n"), max_seqid_bytes=50)[0].length == 4


def test_binary_file_is_not_fasta(tmp_path):
    with pytest.raises(UserError, match="not a FASTA file"):
        scan(write(tmp_path, b"BAM\x01\x00\x00\x00", name="x.bam", compress=True))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress(b">a\n" + b"ACGT" * 100000)
    path = tmp_path / "cut.fa.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.fa.gz: the gzip data is truncated or corrupt"):
        scan(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="cannot open: No such file"):
        scan(tmp_path / "nope.fa")


@pytest.mark.parametrize("compress", [gzip.compress, __import__("lzma").compress, __import__("bz2").compress])
def test_compressed_fasta_reads_as_plain(tmp_path, compress):
    text = b">a desc\nACGTn\nacg\n>b\nTTTT\n"
    plain, packed = tmp_path / "g.fa", tmp_path / "g.fa.packed"
    plain.write_bytes(text)
    packed.write_bytes(compress(text))
    assert scan(packed) == scan(plain)
    assert [(i, b"".join(p)) for i, p in iter_sequences(packed)] == [("a", b"ACGTNACG"), ("b", b"TTTT")]


def test_scan_records_geenuffs_sequence_digest(tmp_path):
    path = tmp_path / "g.fa"
    path.write_bytes(b">a\nACGTn\nacg\n")
    import hashlib

    assert scan(path)[0].sha1 == hashlib.sha1(b"ACGTNACG").hexdigest()  # GeenuFF: sha1 of str(seq).upper()
