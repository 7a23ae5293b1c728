"""helixer-fetch-model against a local HTTP server (no internet in tests) that serves what upstream publishes:
a model list in upstream's format (comment lines, its seven columns, Zenodo links), Zenodo's record API
(an md5 per file) and the files, with HTTP Range. Each case runs the console script, as a user does."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_server import FILES, GALAXY_DATA, RECORD, Server, model_list

TOOL = str(Path(sys.executable).with_name("helixer-fetch-model"))  # the console script, as a user runs it
@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


def fetch(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg"),
               "no_proxy": "", "NO_PROXY": "", "http_proxy": "", "https_proxy": "", "HTTP_PROXY": "", **(env or {})}
    return subprocess.run([TOOL, *args], capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name.startswith("."))


def test_list_and_the_default_model_of_a_lineage(server, tmp_path):
    models = tmp_path / "models"
    proc = fetch(tmp_path, "--list", "--model-list", f"{server.base}/model_list.csv", "--output-dir", str(models))
    assert proc.returncode == 0, proc.stderr
    table = [line.split() for line in proc.stdout.splitlines()]
    assert table[0] == ["lineage", "model", "default", "available_since", "cached"]
    assert table[1:] == [["fungi", "fungi_v0.3_a_0100", "yes", "2023/11/01"],
                         ["land_plant", "land_plant_v0.3_a_0080", "yes", "2023/11/01"],
                         ["land_plant", "land_plant_v0.3_a_0090", "2023/11/01"],
                         ["land_plant", "land_plant_v0.3_m_0100", "2024/03/01"]]
    assert (models / "model_list.csv").read_text() == model_list(server.base)  # kept for offline use
    proc = fetch(tmp_path, "--lineage", "land_plant", "--model-list", f"{server.base}/model_list.csv",
                 "--output-dir", str(models), "--json", "got.json")
    assert proc.returncode == 0, proc.stderr
    got = models / "land_plant" / "land_plant_v0.3_a_0080.h5"  # the lowest priority, upstream's layout
    assert json.loads((tmp_path / "got.json").read_text()) == [
        {"model": "land_plant_v0.3_a_0080", "lineage": "land_plant", "priority": 80, "available_since": "2023/11/01",
         "path": str(got), "md5": hashlib.md5(FILES["land_plant_v0.3_a_0080.h5"]).hexdigest(), "how": "downloaded"}]
    assert proc.stdout == f"{got}\n" and got.read_bytes() == FILES["land_plant_v0.3_a_0080.h5"]
    assert (f"/api/records/{RECORD}", "") in server.requests  # the checksum came from the record API
    assert leftovers(models) == []
    # listed as cached now; fetched again: nothing downloaded
    proc = fetch(tmp_path, "--list", "--model-list", f"{server.base}/model_list.csv", "--output-dir", str(models))
    assert proc.stdout.splitlines()[2].endswith(str(got))
    n = len(server.requests)
    proc = fetch(tmp_path, "--model", "land_plant_v0.3_a_0080", "--model-list", f"{server.base}/model_list.csv",
                 "--output-dir", str(models))
    assert proc.returncode == 0 and "cached" in proc.stderr and len(server.requests) == n + 1  # the list only


def test_the_fetched_model_predicts(server, tmp_path):
    """What is fetched is the released file, usable as it is: helixer-predict runs it."""
    proc = fetch(tmp_path, "--lineage", "fungi", "-q", "--model-list", f"{server.base}/model_list.csv",
                 "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    model = Path(proc.stdout.strip())
    predict = Path(TOOL).with_name("helixer-predict")
    out = subprocess.run([str(predict), "--model", str(model), "--h5", str(GALAXY_DATA / "micromonas_small.coverage.h5"),
                          "--output", str(tmp_path / "p.h5"), "-q"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p.h5").stat().st_size > 10_000


def test_upstreams_cache_is_read_and_written(server, tmp_path):
    """Without --output-dir, models go where upstream's appdirs puts them (Linux: $XDG_DATA_HOME/Helixer/models)
    and a model upstream fetched there, under its name or an older one (synonyms), is found, not fetched."""
    cache = tmp_path / "xdg" / "Helixer" / "models"
    (cache / "land_plant").mkdir(parents=True)
    (cache / "land_plant" / "land_plant_v0.3_a_0080_old.h5").write_bytes(b"fetched by upstream")
    url = f"{server.base}/model_list.csv"
    proc = fetch(tmp_path, "--lineage", "land_plant", "--model-list", url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{cache / 'land_plant' / 'land_plant_v0.3_a_0080_old.h5'}\n"
    assert not any("/files/" in p for p, _ in server.requests)
    proc = fetch(tmp_path, "--model", "fungi_v0.3_a_0100.h5", "--model-list", url)
    assert proc.returncode == 0 and Path(proc.stdout.strip()) == cache / "fungi" / "fungi_v0.3_a_0100.h5"
    assert (cache / "model_list.csv").is_file()  # where Helixer.py reads it offline


def test_checksum_failure_leaves_nothing(server, tmp_path):
    server.wrong_md5.add("land_plant_v0.3_a_0090.h5")
    models = tmp_path / "models"
    proc = fetch(tmp_path, "--model", "land_plant_v0.3_a_0090", "--model-list", f"{server.base}/model_list.csv",
                 "--output-dir", str(models))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "land_plant_v0.3_a_0090: checksum mismatch (md5 " in proc.stderr and "published 000" in proc.stderr
    assert not (models / "land_plant").exists() or list((models / "land_plant").iterdir()) == []


def test_md5_column_of_the_list_is_used(server, tmp_path):
    server.md5_column = True
    proc = fetch(tmp_path, "--lineage", "land_plant", "--model-list", f"{server.base}/model_list.csv",
                 "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == 0, proc.stderr
    assert not any(p.startswith("/api/") for p, _ in server.requests)


def test_an_interrupted_download_resumes(server, tmp_path):
    models = tmp_path / "models"
    server.cut_after["land_plant_v0.3_a_0080.h5"] = 100_000
    args = ("--lineage", "land_plant", "--model-list", f"{server.base}/model_list.csv", "--output-dir", str(models))
    proc = fetch(tmp_path, *args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "the download stopped after 100,000 of 342,608 bytes; run again to resume it" in proc.stderr
    final = models / "land_plant" / "land_plant_v0.3_a_0080.h5"
    assert not final.exists() and leftovers(models) == [".land_plant_v0.3_a_0080.h5.part"]
    proc = fetch(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert server.requests[-1] == (f"/records/{RECORD}/files/land_plant_v0.3_a_0080.h5", "bytes=100000-")
    assert "resumed" in proc.stderr and final.read_bytes() == FILES["land_plant_v0.3_a_0080.h5"]
    assert leftovers(models) == []


def test_offline(server, tmp_path):
    """Offline: the kept list serves --list and cached models; without one, one clear line."""
    models = tmp_path / "models"
    url = f"{server.base}/model_list.csv"
    assert fetch(tmp_path, "--lineage", "fungi", "--model-list", url, "--output-dir", str(models)).returncode == 0
    server.stop()
    proc = fetch(tmp_path, "--lineage", "fungi", "--model-list", url, "--output-dir", str(models))
    assert proc.returncode == 0 and "cannot reach it" in proc.stderr and "using the model list cached at" in proc.stderr
    assert proc.stdout == f"{models / 'fungi' / 'fungi_v0.3_a_0100.h5'}\n"
    assert fetch(tmp_path, "--list", "--offline", "--output-dir", str(models)).returncode == 0
    proc = fetch(tmp_path, "--lineage", "land_plant", "--model-list", url, "--output-dir", str(models))
    assert proc.returncode == 1 and proc.stderr.strip().endswith("offline, or behind a proxy (set https_proxy)?")
    assert "land_plant_v0.3_a_0080: cannot get its published checksum: " in proc.stderr
    assert proc.stderr.count("\n") == 2  # the warning about the list, and the error
    proc = fetch(tmp_path, "--list", "--model-list", url, "--output-dir", str(tmp_path / "empty"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "no model list is cached at" in proc.stderr


def test_a_site_mirror_from_the_environment(server, tmp_path):
    """HELIXER_MODEL_LIST names the list when --model-list does not (a site's mirror; the test Galaxy's)."""
    proc = fetch(tmp_path, "--lineage", "fungi", "--output-dir", str(tmp_path / "m"),
                 env={"HELIXER_MODEL_LIST": f"{server.base}/model_list.csv"})
    assert proc.returncode == 0 and proc.stdout == f"{tmp_path / 'm' / 'fungi' / 'fungi_v0.3_a_0100.h5'}\n"


def test_proxy_from_the_environment(server, tmp_path):
    """http_proxy is honoured: requests for a host nobody can resolve go to the proxy (our server)."""
    url = "http://models.invalid/model_list.csv"
    proc = fetch(tmp_path, "--list", "--model-list", url, "--output-dir", str(tmp_path / "m"),
                 env={"http_proxy": server.base})
    assert proc.returncode == 0 and server.proxied == 1, proc.stderr


@pytest.mark.parametrize("case,args,message", [
    ("unknown lineage", ["--lineage", "algae"], "no lineage 'algae' in the model list; it has fungi, land_plant"),
    ("unknown model", ["--model", "land_plant_v9"], "no model 'land_plant_v9' in the model list; did you mean"),
    ("missing file", ["--list", "--model-list", "nolist.csv"], "nolist.csv: model list not found"),
    ("not a list", ["--list", "--model-list", "bad.csv"], "bad.csv: not a Helixer model list: no column priority"),
])
def test_user_errors_are_one_line(server, tmp_path, case, args, message):
    (tmp_path / "bad.csv").write_text("lineage,model\nfungi,x\n")
    if "--model-list" not in args:
        args = [*args, "--model-list", f"{server.base}/model_list.csv"]
    proc = fetch(tmp_path, *args, "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == 1 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_a_file_missing_on_the_server(server, tmp_path):
    global FILES
    saved = FILES.pop("land_plant_v0.3_m_0100.h5")
    try:
        server.md5_column = False
        proc = fetch(tmp_path, "--model", "land_plant_v0.3_m_0100", "--model-list", f"{server.base}/model_list.csv",
                     "--output-dir", str(tmp_path / "m"))
    finally:
        FILES["land_plant_v0.3_m_0100.h5"] = saved
    assert proc.returncode == 1 and "the server answered HTTP 404" in proc.stderr and "Traceback" not in proc.stderr
    assert leftovers(tmp_path / "m") == [] and not (tmp_path / "m" / "land_plant" / "land_plant_v0.3_m_0100.h5").exists()


def test_a_mirror_folder_with_relative_links(tmp_path):
    """Links without a scheme are relative to the list: a folder with the list and the files (the bundled
    test mirror, which the pipeline module's test uses) is fetched from as it is, md5 column checked."""
    models = tmp_path / "m"
    proc = fetch(tmp_path, "--lineage", "land_plant", "--model-list", str(GALAXY_DATA / "helixer_model_list.csv"),
                 "--output-dir", str(models))
    assert proc.returncode == 0, proc.stderr
    got = models / "land_plant" / "helixer_tiny_test.h5"
    assert proc.stdout == f"{got}\n" and got.read_bytes() == (GALAXY_DATA / "helixer_tiny_upstream.h5").read_bytes()
