"""Start a real Galaxy server (installed from PyPI) on 127.0.0.1 and run the wrappers' own tests in it.

The Galaxy virtual environment is made by scripts/setup.sh (its path is in $HELIXER_TOOLS_GALAXY_VENV).
Galaxy runs with dependency resolution off, so tools run the helixer-* commands found on PATH: the
project's own virtual environment, put first on PATH here.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

GALAXY_DIR = Path(__file__).resolve().parents[1] / "galaxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, key: str, data: dict | None = None, method: str | None = None):
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body else "GET"),
                                 headers={"x-api-key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def tool_files() -> list[Path]:
    """The wrappers (galaxy/*.xml); the data manager (galaxy/data_manager/) is loaded by data_manager_conf.xml."""
    return sorted(p for p in GALAXY_DIR.glob("*.xml") if p.name not in ("macros.xml", "data_manager_conf.xml"))


def data_manager_files() -> list[Path]:
    return sorted((GALAXY_DIR / "data_manager").glob("*.xml"))


class GalaxyServer:
    def __init__(self, venv: Path, workdir: Path):
        self.venv, self.workdir = venv, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = secrets.token_hex(16)
        self.user_key = None
        self.proc = None

    def _write_config(self) -> Path:
        config, data = self.workdir / "config", self.workdir / "data"
        config.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        tools = "\n".join(f'    <tool file="{p}"/>' for p in tool_files())
        # the data table of released models: the test entry (test-data/helixer_models.loc) copied here, where
        # the data manager may add to it without touching the repository
        tool_data = self.workdir / "tool-data"
        tool_data.mkdir(parents=True, exist_ok=True)
        loc = (GALAXY_DIR / "test-data" / "helixer_models.loc").read_text()
        (tool_data / "helixer_models.loc").write_text(loc.replace("${__HERE__}", str(GALAXY_DIR / "test-data")))
        table = (GALAXY_DIR / "tool_data_table_conf.xml.sample").read_text()
        (config / "tool_data_table_conf.xml").write_text(
            table.replace('path="tool-data/helixer_models.loc"', f'path="{tool_data / "helixer_models.loc"}"'))
        (config / "tool_conf.xml").write_text(f'<toolbox>\n  <section id="helixer" name="Helixer">\n{tools}\n  </section>\n</toolbox>\n')
        (config / "deps.xml").write_text("<dependency_resolvers/>\n")
        # Galaxy gives jobs a clean environment: the data manager's model list (a local stand-in for upstream's,
        # tests/model_server.py) reaches it through the job destination, as an admin sets a proxy or a mirror
        (config / "job_conf.yml").write_text(f"""runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
    workers: 4
execution:
  default: local_env
  environments:
    local_env:
      runner: local
      env:
        - name: HELIXER_MODEL_LIST
          value: {self.model_list_url}
""")
        galaxy_yml = config / "galaxy.yml"
        galaxy_yml.write_text(f"""galaxy:
  data_dir: {data}
  database_connection: sqlite:///{data}/universe.sqlite?isolation_level=IMMEDIATE
  tool_config_file: {config}/tool_conf.xml
  dependency_resolvers_config_file: {config}/deps.xml
  conda_auto_init: false
  conda_auto_install: false
  enable_mulled_containers: false
  involucro_auto_init: false
  id_secret: {secrets.token_hex(16)}
  bootstrap_admin_api_key: {self.admin_key}
  admin_users: admin@example.org
  enable_celery_tasks: true
  metadata_strategy: directory_celery
  celery_conf:
    result_backend: db+sqlite:///{data}/results.sqlite
  amqp_internal_connection: sqlalchemy+sqlite:///{data}/control.sqlite?isolation_level=IMMEDIATE
  watch_tools: false
  allow_path_paste: true
  tool_data_path: {self.workdir / "tool-data"}
  tool_data_table_config_path: {config}/tool_data_table_conf.xml
  data_manager_config_file: {GALAXY_DIR / "data_manager_conf.xml"}
  galaxy_data_manager_data_path: {self.workdir / "tool-data"}
  job_config_file: {config}/job_conf.yml
""")
        return galaxy_yml

    def start(self, timeout: float = 300) -> None:
        # the data manager fetches from a local stand-in for upstream's model list and Zenodo
        from model_server import Server

        self.model_server = Server()
        self.model_list_url = f"{self.model_server.base}/model_list.csv"
        galaxy_yml = self._write_config()
        env = dict(os.environ)
        project_bin = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([project_bin, str(self.venv / "bin"), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = env["GALAXY_VIRTUAL_ENV"] = str(self.venv)
        env["TMPDIR"] = str(self.workdir)
        self.log = open(self.workdir / "galaxy.log", "wb")
        self.proc = subprocess.Popen([str(self.venv / "bin" / "galaxy-web"), "-c", str(galaxy_yml), "-b", f"127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                     cwd=self.workdir)
        # uploads and metadata run as Celery tasks in one worker that has imported Galaxy once, instead of two
        # fresh Galaxy processes per upload and one per tool job (6-8 s of imports each on these machines)
        self.celery_log = open(self.workdir / "celery.log", "wb")
        self.celery = subprocess.Popen([str(self.venv / "bin" / "celery"), "--app", "galaxy.celery", "worker",
                                        "--concurrency", "2", "--loglevel", "INFO", "--pool", "threads",
                                        "--queues", "celery,galaxy.internal,galaxy.external"],
                                       stdout=self.celery_log, stderr=subprocess.STDOUT, start_new_session=True,
                                       cwd=self.workdir, env={**env, "GALAXY_CONFIG_FILE": str(galaxy_yml)})
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Galaxy exited early; see {self.workdir / 'galaxy.log'}")
            try:
                _request(f"{self.url}/api/version", self.admin_key)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Galaxy did not start within {timeout} s; see {self.workdir / 'galaxy.log'}") from None
                time.sleep(2)
        user = _request(f"{self.url}/api/users", self.admin_key,
                        {"username": "tester", "email": "admin@example.org", "password": secrets.token_hex(8)})
        self.user_key = _request(f"{self.url}/api/users/{user['id']}/api_key", self.admin_key, {})

    def run_tool_tests(self, tool_id: str) -> list[dict]:
        """Run every <test> of one tool; return galaxy-tool-test's per-test results."""
        out = self.workdir / f"{tool_id}.json"
        # one test at a time: two in parallel against this SQLite-backed Galaxy once lost a test's history
        # ("History not found") in CI
        cmd = [str(self.venv / "bin" / "galaxy-tool-test"), "-u", self.url, "-k", self.user_key, "-a", self.admin_key,
               "--test-data", str(GALAXY_DIR / "test-data"), "-t", tool_id, "-j", str(out), "--parallel-tests", "1",
               "--with-reference-data"]  # tests of released models from the data table (test-data/helixer_models.loc)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.workdir,
                              env={**os.environ, "TMPDIR": str(self.workdir)})
        if not out.exists():
            raise RuntimeError(f"galaxy-tool-test wrote no report:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(out.read_text())["tests"]

    def stop(self) -> None:
        if getattr(self, "model_server", None) is not None:
            self.model_server.stop()
        for proc in (self.proc, getattr(self, "celery", None)):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
        for log in ("log", "celery_log"):
            if getattr(self, log, None):
                getattr(self, log).close()


def galaxy_venv() -> Path | None:
    venv = os.environ.get("HELIXER_TOOLS_GALAXY_VENV")
    if venv and (Path(venv) / "bin" / "galaxy-web").exists():
        return Path(venv)
    return None


__all__ = ["GalaxyServer", "data_manager_files", "galaxy_venv", "tool_files"]
