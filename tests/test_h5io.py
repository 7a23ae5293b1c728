"""h5io: whole per-row datasets are read and written in slices (HDF5 keeps state per chunk a call touches)."""

import subprocess
import sys

import h5py
import numpy as np

from helixer_tools import h5io


def test_read_all_and_create_in_slices_keep_every_row(tmp_path, monkeypatch):
    monkeypatch.setattr(h5io, "ROW_SLICE", 4)
    data = np.array([[i, -i] for i in range(11)], dtype=np.int64)
    with h5io.H5Writer(tmp_path / "a.h5") as out:
        out.create("data/start_ends", data.shape, np.int64, data)
        out.create("data/seqids", (11,), "S50", np.array([b"s%d" % i for i in range(11)], dtype="S50"))
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["data/start_ends"].chunks == (1, 2)  # upstream's layout, one row per chunk
        assert np.array_equal(h5io.read_all(f["data/start_ends"]), data)
        assert h5io.read_all(f["data/seqids"]).tolist() == [b"s%d" % i for i in range(11)]


def test_reading_a_large_per_row_dataset_stays_small(tmp_path):
    """56,508 one-row chunks (a draft assembly's data/seqids): one HDF5 read of all of them peaks at about
    400 MB; in slices, near the interpreter's own size."""
    n = 56_508
    with h5py.File(tmp_path / "s.h5", "w") as f:
        d = f.create_dataset("s", (n,), "S50", chunks=(1,), compression="gzip")
        h5io.write_all(d, np.array([b"ctg%05d" % (i // 3) for i in range(n)], dtype="S50"))
    # the peak of the child's own address space (VmHWM): ru_maxrss would carry pytest's peak across exec
    code = ("import h5py, re, sys; from helixer_tools.h5io import read_all\n"
            f"f = h5py.File({str(tmp_path / 's.h5')!r}); x = read_all(f['s']) if sys.argv[1] == 'sliced' else f['s'][:]\n"
            "assert len(x) == %d\n"
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)" % n)
    peak = {how: int(subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True,
                                    check=True).stdout) for how in ("sliced", "once")}
    assert peak["once"] - peak["sliced"] > 150, peak  # MB
