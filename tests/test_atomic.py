"""Outputs appear whole or not at all (helixer_tools.atomic, used by every writer)."""

from __future__ import annotations

import pytest

from helixer_tools.atomic import atomic_path, write_text


def test_written_under_a_temporary_name_then_renamed(tmp_path):
    out = tmp_path / "metrics.tsv"
    with atomic_path(out) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".tsv" and tmp.name.startswith(".")
        tmp.write_text("a\n")
        assert not out.exists()
    assert out.read_text() == "a\n" and list(tmp_path.iterdir()) == [out]


def test_a_failure_leaves_the_old_output_and_no_temporary_file(tmp_path):
    out = tmp_path / "model.h5"
    write_text(out, "old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk on fire")
    assert out.read_text() == "old" and list(tmp_path.iterdir()) == [out]
