"""Outputs appear whole or not at all (helixer_tools.atomic, used by every writer)."""

from __future__ import annotations

import os

import pytest

from helixer_tools.atomic import atomic_path, check_output, together, user_name, write_text
from helixer_tools.errors import UserError


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


def test_a_group_renames_its_outputs_together_at_the_end(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.h5"
    with together():
        write_text(a, "first")
        write_text(a, "second")  # a checkpoint written again: the last version counts
        with atomic_path(b) as tmp:
            tmp.write_text("b")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".a.tmp-%d.tsv" % os.getpid(), ".b.tmp-%d.h5" % os.getpid()]
        assert user_name(str(tmp)) == str(b)  # errors name the user's path
    assert a.read_text() == "second" and b.read_text() == "b" and sorted(tmp_path.iterdir()) == [a, b]


def test_a_failed_group_leaves_none_of_its_outputs(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with together():
            write_text(tmp_path / "table.tsv", "done")
            with atomic_path(tmp_path / "model.h5") as tmp:
                tmp.write_text("half")
                raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_outputs_that_cannot_be_written_are_refused(tmp_path):
    with pytest.raises(UserError, match="is a directory; give a file name"):
        check_output(tmp_path)
    with pytest.raises(UserError, match="the directory to write it in does not exist"):
        check_output(tmp_path / "no" / "x.h5")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(UserError, match="permission denied"):
            check_output(locked / "x.h5")
