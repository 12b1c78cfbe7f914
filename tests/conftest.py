"""Shared test helpers: load the numbered scripts with importlib, keep every run offline and in the demo profile."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("PROFILE", "demo")
os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(PROJECT_DIR))


def load_script(file_name):
    """Import a numbered script (e.g. '0_preparando_dados.py') as a module without running its main()."""
    path = PROJECT_DIR / file_name
    name = "script_" + path.stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project_dir():
    return PROJECT_DIR


def use_directories(monkeypatch, prepared_dir, output_dir):
    """Point every handed-off file at other folders for one test; monkeypatch restores common.PATHS afterwards."""
    import common
    from tradeoff.files import Paths

    monkeypatch.setattr(common, "PATHS", Paths(Path(prepared_dir), Path(output_dir)))


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


def run_script(file_name, env=None, args=(), timeout=600):
    """Run a numbered script as a user would, in a subprocess; returns the CompletedProcess."""
    import subprocess

    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / file_name), *args],
        env=full_env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def prepared_demo(tmp_path_factory):
    """The demo profile's prepared data, made once per test session by script 0 into a temporary folder."""
    folder = tmp_path_factory.mktemp("prepared_demo")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_directories(monkeypatch, folder, tmp_path_factory.mktemp("unused_outputs"))
        load_script("0_preparando_dados.py").main()
    return folder
