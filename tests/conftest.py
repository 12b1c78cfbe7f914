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
