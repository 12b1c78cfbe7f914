"""Shared test helpers: load the numbered scripts with importlib, keep every run offline and in the demo profile."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import preloaded
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("PROFILE", "demo")
os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
os.environ["HF_HUB_OFFLINE"] = "1"
# What common.py sets for the demo profile, set before the libraries read it at import (in preloaded.py's server too).
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", str(PROJECT_DIR / "outputs" / "cache" / "huggingface"))
sys.path.insert(0, str(PROJECT_DIR))

from tradeoff.files import SCRIPTS  # noqa: E402 -- importable once the project root is on sys.path
from tradeoff.sql_sandbox import SqlLimits  # noqa: E402

LOADED_SCRIPTS = []  # what use_directories patches besides common: each script binds PATHS = common.PATHS at import


def load_script(file_name):
    """Import a numbered script (e.g. '0_preparando_dados.py') as a module without running its main()."""
    path = PROJECT_DIR / file_name
    name = "script_" + path.stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    LOADED_SCRIPTS.append(module)
    return module


# Under pytest-xdist (make test: -n 2) each group (named by node id prefix) runs on one worker: "demo" makes the
# finished demo run (and builds the tiny model) while "trained" converts SmolLM2 and runs it, runs tests that need no
# model while the tiny one is still being built, then makes test_training's short run. The other tests are dealt one
# by one, those that read the finished run last: by then it is made, once, for both workers (demo_run). Each worker's
# torch (and the scripts it starts) gets one thread: two workers of two threads each on two cores run several times
# slower than one thread each.
NO_MODEL = tuple(f"tests/test_{name}.py" for name in (  # tests that need neither the tiny model nor the finished run
    "report", "sql_sandbox", "sql_scoring", "files", "stats", "hardness", "mmlu", "untrusted_text", "extraction_real",
    "demo_data", "references", "spider_hub"))  # fmt: skip
WORKER_GROUPS = {  # the first group whose prefix matches; "trained" in the order it runs
    "trained": ("tests/test_smol_model.py", "tests/test_smol_profile.py", *NO_MODEL,
                "tests/test_bench_gpu.py",  # its tiny bench takes the tiny model's tokenizer
                "tests/test_training.py", "tests/test_multiprocess.py::test_data_parallel_training"),
    "demo": ("tests/test_demo_checks.py",),
}  # fmt: skip
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(items):
    """The "trained" group first, in its order; then the other tests, those that read the finished run last."""
    trained = WORKER_GROUPS["trained"]

    def rank(item):
        position = next((i for i, prefix in enumerate(trained) if item.nodeid.startswith(prefix)), len(trained))
        return position, "demo_run" in item.fixturenames

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):  # largest work units first (the groups), then test by test
        def _split_scope(self, nodeid):
            groups = (group for group, prefixes in WORKER_GROUPS.items() if nodeid.startswith(prefixes))
            return next(groups, nodeid)

    return ByGroup(config, log)


@pytest.fixture
def project_dir():
    return PROJECT_DIR


def use_directories(monkeypatch, prepared_dir, output_dir):
    """Point every handed-off file at other folders for one test: common.PATHS and the PATHS of every script loaded
    with load_script; monkeypatch restores them afterwards. Returns the new Paths."""
    import common
    from tradeoff.files import Paths

    paths = Paths(Path(prepared_dir), Path(output_dir))
    for module in [common, *LOADED_SCRIPTS]:
        if hasattr(module, "PATHS"):
            monkeypatch.setattr(module, "PATHS", paths)
    return paths


@pytest.fixture
def isolated_run(tmp_path, monkeypatch):
    """Point every handed-off file of this process at a fresh temporary folder."""
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path / "outputs")
    return tmp_path


def concert_database(tmp_path, sql):
    """A Spider-layout database db/concert/concert.sqlite made from an SQL script."""
    import sqlite3

    path = tmp_path / "db" / "concert" / "concert.sqlite"
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    connection.executescript(sql)
    connection.commit()
    connection.close()
    return path


# The SQL budget of the tests (the demo profile's timeout): tests never read common.
SQL_LIMITS = SqlLimits(timeout_seconds=2.0, max_rows=100_000, max_result_bytes=64_000_000, max_prediction_chars=20_000)


@pytest.fixture
def singers_db(tmp_path):
    """A small Spider-like database: singers with duplicate countries and one non-UTF-8 name, a 25-row table for
    per-row function calls, a 3000-row table for cross joins."""
    path = concert_database(
        tmp_path,
        """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        INSERT INTO singer VALUES (1, 'Joe', 'France', 52), (2, 'Ana', 'Netherlands', 29), (3, 'Tom', 'France', 43),
                                  (4, 'Eve', 'United States', 35), (5, 'Bob', 'France', 29),
                                  (6, CAST(X'4a6f73e920ff' AS TEXT), 'Peru', 40);
        CREATE TABLE stadium (stadium_id INTEGER);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25)
            INSERT INTO stadium SELECT x FROM c;
        CREATE TABLE big (x INTEGER);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO big SELECT x FROM c;
        """,
    )
    return path


def run_script(file_name, env=None, args=(), timeout=600, fresh=False):
    """Run a numbered script as a user would; returns the CompletedProcess. Scripts 1-4 start from this worker's
    preloaded forkserver (preloaded.py) unless fresh, script 0 in a new interpreter."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    if fresh or file_name == SCRIPTS[0]:
        command = [sys.executable, str(PROJECT_DIR / file_name), *args]
        return subprocess.run(command, env=full_env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout)
    with tempfile.TemporaryDirectory() as folder:
        stdout, stderr = Path(folder, "stdout"), Path(folder, "stderr")
        process = preloaded.start(file_name, args, full_env, PROJECT_DIR, str(stdout), str(stderr))
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(file_name, timeout, stdout.read_text(), stderr.read_text())
        return subprocess.CompletedProcess(file_name, process.exitcode, stdout.read_text(), stderr.read_text())


@pytest.fixture(scope="session")
def prepared_demo(tmp_path_factory):
    """The demo profile's prepared data, made once per test session by script 0 into a temporary folder."""
    folder = tmp_path_factory.mktemp("prepared_demo")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_directories(monkeypatch, folder, tmp_path_factory.mktemp("unused_outputs"))
        load_script("0_preparando_dados.py").main()
    return folder


def demo_environment(root, **changes):
    """The environment of a demo run whose files live under root (prepared/ and outputs/)."""
    return dict(PROFILE="demo", PREPARED_DIR=str(root / "prepared"), OUTPUT_DIR=str(root / "outputs"), **changes)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One finished demo run (the five scripts, as a user runs them, through run_script), made once per test session
    for every worker; a test copies it before running a script on it."""
    from filelock import FileLock

    if os.environ.get("DEMO_RUN"):  # a finished run to reuse while working on the tests that read one
        return Path(os.environ["DEMO_RUN"])
    session = tmp_path_factory.getbasetemp()
    root = (session.parent if os.environ.get("PYTEST_XDIST_WORKER") else session) / "demo_run"
    with FileLock(f"{root}.lock"):
        failed, finished = root / "failed", root / "finished"
        if not (finished.exists() or failed.exists()):  # the first worker to come makes it
            root.mkdir(exist_ok=True)
            for script in SCRIPTS:
                result = run_script(script, demo_environment(root), timeout=900)
                if result.returncode:
                    failed.write_text(f"{script}: {result.stderr[-3000:]}")
                    break
            else:
                finished.touch()
        assert not failed.exists(), failed.read_text()
    return root


def wait_then_kill(process, condition, timeout=600):
    """SIGKILL the process (a multiprocessing.Process) as soon as condition() holds; True if it was killed mid-run."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.is_alive():
        if condition():
            process.kill()
            process.join()
            return True
        time.sleep(0.01)
    process.join()
    return False


def line_count(path):
    return len(path.read_text().splitlines()) if path.exists() else 0


def killed_then_rerun(script, environment, kill_when):
    """Run a numbered script, SIGKILL it as soon as kill_when() holds, then run it again to the end."""
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **environment)
    process = preloaded.start(script, (), full_env, PROJECT_DIR, os.devnull, os.devnull)
    assert wait_then_kill(process, kill_when), f"{script} finished before it could be killed"
    result = run_script(script, environment)
    assert result.returncode == 0, f"{script} after a kill: {result.stderr[-3000:]}"
