"""A local stand-in for what upstream publishes about its released models (no internet in tests): the model list
in upstream's format, Zenodo's record API (an md5 per file) and the files, with HTTP Range. Serves
tests/test_fetch_model.py and the test Galaxy's data manager (through $HELIXER_MODEL_LIST)."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GALAXY_DATA = Path(__file__).resolve().parents[1] / "galaxy" / "test-data"
RECORD = "10836346"
# an upstream-format model (HybridModel.py's Keras h5), served as the released models' files
MODEL_BYTES = (GALAXY_DATA / "helixer_tiny_upstream.h5").read_bytes()
FILES = {
    "land_plant_v0.3_a_0080.h5": MODEL_BYTES,
    "land_plant_v0.3_a_0090.h5": MODEL_BYTES[::-1],
    "land_plant_v0.3_m_0100.h5": MODEL_BYTES[:1000],
    "fungi_v0.3_a_0100.h5": (GALAXY_DATA / "helixer_tiny_cov_upstream.h5").read_bytes(),
}


def model_list(base: str, md5_column: bool = False) -> str:
    """The list as upstream writes it (resources/model_list.csv): comments, header, rows out of order."""
    rows = [("land_plant", 90, "land_plant_v0.3_a_0090", "2023/11/01", ""),
            ("fungi", 100, "fungi_v0.3_a_0100", "2023/11/01", ""),
            ("land_plant", 1100, "land_plant_v0.3_m_0100", "2024/03/01", ""),
            ("land_plant", 80, "land_plant_v0.3_a_0080", "2023/11/01", "land_plant_v0.3_a_0080_old.h5")]
    head = "# Helixer's released models\n# lowest priority of a lineage: its default\n"
    cols = "lineage,priority,download_link,model,model_file_name,available_since,synonyms"
    out = head + cols + (",md5" if md5_column else "") + "\n"
    for lineage, prio, name, date, syn in rows:
        link = f"{base}/records/{RECORD}/files/{name}.h5?download=1"
        md5 = "," + hashlib.md5(FILES[f"{name}.h5"]).hexdigest() if md5_column else ""
        out += f"{lineage},{prio},{link},{name},{name}.h5,{date},{syn}{md5}\n"
    return out


class Server:
    """A local stand-in for GitHub (the list) and Zenodo (record API and files); it can cut a download short,
    publish a wrong checksum, and act as an HTTP proxy (absolute request URIs)."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []  # (path, Range header)
        self.cut_after: dict[str, int] = {}  # file -> bytes sent before closing, once
        self.wrong_md5: set[str] = set()
        self.md5_column = False
        self.proxied = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.startswith("http://"):
                    server.proxied += 1
                path = urlsplit(self.path).path
                server.requests.append((path, self.headers.get("Range", "")))
                if path == "/model_list.csv":
                    return self.send(model_list(server.base, server.md5_column).encode(), "text/csv")
                if path == f"/api/records/{RECORD}":
                    files = [{"key": k, "size": len(v), "checksum": "md5:" + (
                        "0" * 32 if k in server.wrong_md5 else hashlib.md5(v).hexdigest())} for k, v in FILES.items()]
                    return self.send(json.dumps({"id": int(RECORD), "files": files}).encode(), "application/json")
                name = path.rsplit("/", 1)[-1]
                if path.startswith(f"/records/{RECORD}/files/") and name in FILES:
                    data, start = FILES[name], 0
                    if rng := self.headers.get("Range"):
                        start = int(rng.removeprefix("bytes=").split("-")[0])
                        if start >= len(data):
                            self.send_response(416)
                            self.end_headers()
                            return
                        self.send_response(206)
                        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    else:
                        self.send_response(200)
                    self.send_header("Content-Length", str(len(data) - start))
                    self.end_headers()
                    if name in server.cut_after:
                        self.wfile.write(data[start:start + server.cut_after.pop(name)])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(data[start:])
                    return
                self.send_error(404)

            def send(self, body: bytes, kind: str):
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
