"""Released Helixer models: upstream's published model list, its cache layout, verified resumable downloads.

Upstream lists its models in a CSV (``resources/model_list.csv`` in its repository): ``#`` comment lines,
then ``lineage,priority,download_link,model,model_file_name,available_since,synonyms``, one row per
model; the lowest ``priority`` of a lineage is its default. Models are cached under
``<user data dir>/Helixer/models/<lineage>/<model_file_name>`` and the list beside them as
``model_list.csv``, where upstream's ``Helixer.py --lineage`` and ``fetch_helixer_models.py`` look: what we
fetch, upstream finds, and what upstream fetched, we find.

A download link without a scheme is relative to the list (a site mirror: one folder holding the list and
the files, served over HTTP or read as files). Beyond upstream: every file is checked against an md5 (an ``md5`` column of the list, or Zenodo's record
API for Zenodo links, which publishes one per file); a download goes to a hidden ``.<name>.part`` beside
the model and resumes from it (HTTP Range) when interrupted; the model appears under its name only whole
and verified; proxies come from the environment (``https_proxy``, ``no_proxy``, ...) as urllib reads them.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import logging
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .atomic import atomic_path
from .errors import UserError

log = logging.getLogger("helixer_tools")

MODEL_LIST_URL = "https://raw.githubusercontent.com/usadellab/Helixer/main/resources/model_list.csv"
LIST_NAME = "model_list.csv"
COLUMNS = ("lineage", "priority", "download_link", "model", "model_file_name", "available_since", "synonyms")
TIMEOUT_S = 60
CHUNK = 1 << 20
_ZENODO = re.compile(r"^(https?://[^/]+)/records?/(\d+)/files/([^?]+)")
USER_AGENT = "helixer-tools (https://github.com/helixer-tools/helixer-tools)"


def helixer_data_dir() -> Path:
    """Upstream's ``appdirs.user_data_dir('Helixer')``: where Helixer keeps its models."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Helixer"
    if sys.platform.startswith("win"):
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "Helixer" / "Helixer"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "Helixer"


def default_models_dir() -> Path:
    return helixer_data_dir() / "models"


@dataclass(frozen=True)
class Model:
    lineage: str
    priority: int
    url: str
    name: str  # the model column, e.g. land_plant_v0.3_a_0080
    file_name: str  # e.g. land_plant_v0.3_a_0080.h5
    available_since: str
    synonyms: tuple[str, ...]
    md5: str = ""  # from the list's optional md5 column

    def path(self, models_dir: str | Path) -> Path:
        return Path(models_dir) / self.lineage / self.file_name

    def cached(self, models_dir: str | Path) -> Path | None:
        """The cached file of this model: under its name or one of its synonyms (older names of it)."""
        for name in (self.file_name, *self.synonyms):
            p = Path(models_dir) / self.lineage / name
            if p.is_file():
                return p
        return None

    def names(self) -> set[str]:
        stems = {n.removesuffix(".h5") for n in self.synonyms}
        return {self.name, self.file_name, *self.synonyms, *stems}


def parse_model_list(text: str, source: str) -> list[Model]:
    """The models of a list in upstream's format, sorted by lineage then priority; each problem one error."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise UserError(f"{source}: no models listed (is this Helixer's model_list.csv?)")
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{source}: not a Helixer model list: no column {', '.join(missing)} (it has "
                        f"{', '.join(reader.fieldnames or [])})")
    models, seen = [], {}
    for number, row in enumerate(reader, 2):
        name = (row["model"] or "").strip()
        try:
            priority = int(row["priority"])
        except (TypeError, ValueError):
            raise UserError(f"{source}: model {name or '?'} (row {number}): priority {row['priority']!r} is not "
                            "a whole number") from None
        file_name = (row["model_file_name"] or "").strip()
        if not name or not file_name or "/" in file_name or file_name.startswith("."):
            raise UserError(f"{source}: row {number}: a model needs a name and a plain file name")
        link = (row["download_link"] or "").strip()
        if not link:
            raise UserError(f"{source}: model {name}: no download link")
        if not is_url(link):  # relative to the list: a mirror's folder of list and files
            link = urllib.parse.urljoin(source if is_url(source) else Path(source).resolve().as_uri(), link)
        if name in seen:
            raise UserError(f"{source}: model {name} is listed twice (rows {seen[name]} and {number})")
        seen[name] = number
        synonyms = tuple(s for s in re.split(r"[\s;|]+", row["synonyms"] or "") if s)
        md5 = (row.get("md5") or "").strip().lower().removeprefix("md5:")
        models.append(Model(row["lineage"].strip(), priority, link, name, file_name,
                            (row["available_since"] or "").strip(), synonyms, md5))
    return sorted(models, key=lambda m: (m.lineage, m.priority, m.name))


def _open(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    # a new opener each time: its ProxyHandler reads https_proxy/http_proxy/no_proxy as they are now
    return urllib.request.build_opener().open(request, timeout=TIMEOUT_S)


def _unreachable(url: str, e: Exception) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"{url}: the server answered HTTP {e.code} ({e.reason})"
    reason = getattr(e, "reason", e)
    return f"{url}: cannot reach it ({reason}); offline, or behind a proxy (set https_proxy)?"


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "file://"))


def load_model_list(source: str, models_dir: str | Path, refresh: bool = True) -> tuple[list[Model], str]:
    """The model list from ``source`` (URL or file). A fetched list is kept as ``models_dir/model_list.csv``
    (upstream's place) for offline use; when the URL cannot be reached, that copy is used, with a warning.
    Returns the models and where they came from."""
    cached = Path(models_dir) / LIST_NAME
    if not is_url(source):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise UserError(f"{source}: model list not found") from None
        return parse_model_list(text, source), source
    if refresh:
        try:
            with _open(source) as response:
                text = response.read().decode("utf-8-sig")
        except (urllib.error.URLError, OSError) as e:
            if not cached.is_file():
                raise UserError(f"{_unreachable(source, e)}; and no model list is cached at {cached}") from None
            log.warning("%s; using the model list cached at %s", _unreachable(source, e), cached)
        else:
            models = parse_model_list(text, source)
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as tmp:  # kept with the run's other outputs, whole or not at all
                tmp.write_text(text)
            return models, source
    if not cached.is_file():
        raise UserError(f"no model list is cached at {cached}; run once online (or give --model-list FILE)")
    return parse_model_list(cached.read_text(encoding="utf-8-sig"), str(cached)), str(cached)


def lineages(models: Iterable[Model]) -> list[str]:
    return sorted({m.lineage for m in models})


def default_of(models: list[Model], lineage: str) -> Model:
    """The default model of ``lineage``: its lowest priority."""
    mine = [m for m in models if m.lineage == lineage]
    if not mine:
        raise UserError(f"no lineage {lineage!r} in the model list; it has {', '.join(lineages(models))}")
    return min(mine, key=lambda m: (m.priority, m.name))


def find(models: list[Model], name: str) -> Model:
    """A model by its name, file name or a synonym."""
    for m in models:
        if name in m.names():
            return m
    import difflib

    close = difflib.get_close_matches(name, [m.name for m in models], n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close[:5])}?" if close else "; --list shows them"
    raise UserError(f"no model {name!r} in the model list{hint}")


def published_md5(model: Model) -> str:
    """The md5 the list gives, or Zenodo's record API for a Zenodo link; '' when neither publishes one."""
    if model.md5:
        return model.md5
    m = _ZENODO.match(model.url)
    if not m:
        return ""
    host, record, file_name = m.group(1), m.group(2), urllib.request.unquote(m.group(3))
    api = f"{host}/api/records/{record}"
    try:
        with _open(api, {"Accept": "application/json"}) as response:
            record_json = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise UserError(f"{model.name}: cannot get its published checksum: {_unreachable(api, e)}") from None
    files = record_json.get("files", [])
    if isinstance(files, dict):  # the newer API nests them under "entries"
        files = list(files.get("entries", {}).values())
    for f in files:
        if f.get("key") == file_name:
            return str(f.get("checksum", "")).lower().removeprefix("md5:")
    return ""


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def fetch(model: Model, models_dir: str | Path, force: bool = False,
          progress: Callable[[int, int], None] | None = None) -> tuple[Path, str]:
    """Download ``model`` into the cache, verified; returns its path and what happened ('cached',
    'downloaded', 'resumed'). A file already cached is kept (``force``: downloaded again)."""
    if not force and (found := model.cached(models_dir)) is not None:
        return found, "cached"
    dest = model.path(models_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = published_md5(model)
    part = dest.with_name(f".{dest.name}.part")
    have = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(model.url, headers)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the part is complete already
            response = None
        else:
            raise UserError(f"{model.name}: {_unreachable(model.url, e)}") from None
    except (urllib.error.URLError, OSError) as e:
        raise UserError(f"{model.name}: {_unreachable(model.url, e)}") from None
    how = "downloaded"
    if response is not None:
        with response:
            resumed = have and response.status == 206
            if not resumed:
                have = 0
            how = "resumed" if resumed else "downloaded"
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else 0
            if progress:
                progress(have, total)
            try:
                with open(part, "ab" if resumed else "wb") as out:
                    while block := response.read(CHUNK):
                        out.write(block)
                        have += len(block)
                        if progress:
                            progress(have, total)
            except (http.client.HTTPException, ConnectionError, TimeoutError, urllib.error.URLError) as e:
                raise UserError(f"{model.name}: the download stopped after {have:,} bytes ({e}); run again to "
                                f"resume it from {part}") from None
            if total and have < total:
                raise UserError(f"{model.name}: the download stopped after {have:,} of {total:,} bytes; run "
                                f"again to resume it from {part}")
    got = md5_of(part)
    if expected and got != expected:
        part.unlink()
        raise UserError(f"{model.name}: checksum mismatch (md5 {got}, published {expected}); the download was "
                        "removed: run again")
    if not expected:
        log.warning("%s: no checksum published for it; not verified", model.name)
    os.replace(part, dest)
    return dest, how
