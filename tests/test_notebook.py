"""colab.ipynb executed top to bottom by a real Jupyter kernel (nbclient, ipykernel) on a finished demo run: every
cell runs (each step finds its work done and ends quickly), only Drive, nvidia-smi and the clone are skipped off
Colab, the plan it prints agrees with the Trainer's, and it ends by displaying the report and the plot. A step that
fails fails its cell, and the notebook stops there."""

import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import common
from conftest import PROJECT_DIR
from tradeoff.files import SCRIPTS

NOTEBOOK = PROJECT_DIR / "colab.ipynb"


def notebook_client(monkeypatch, env):
    """The notebook and a client that runs it as a user does, in a kernel started with env (which the notebook's
    settings leave alone off Colab); client.execute() raises CellExecutionError at the first cell that fails."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": PROJECT_DIR}})
    return notebook, client


def text_of(cell):
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def files_of(folder):
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_the_notebook_runs_every_cell_and_ends_with_the_report(demo_run, tmp_path, monkeypatch):
    """Also the finished run run again, the way a Colab user reruns it: it computes and changes nothing."""
    run = shutil.copytree(demo_run, tmp_path / "run")  # the scripts take the run's lock: the other worker reads it
    env = {
        "PROFILE": "demo",
        "PREPARED_DIR": str(run / "prepared"),
        "OUTPUT_DIR": str(run / "outputs"),
        # The demo's own value: the notebook's 150 (the study's sample) applies only where the environment has none.
        "EVALUATION_ENTRIES_SIZE": str(common.PROFILES["demo"]["EVALUATION_ENTRIES_SIZE"]),
    }
    before = NOTEBOOK.read_bytes()
    notebook, client = notebook_client(monkeypatch, env)
    client.execute()
    cells = code_cells(notebook)
    assert all(cell.execution_count for cell in cells)
    assert not [output for cell in cells for output in cell.outputs if output.output_type == "error"]
    steps = {script: cell for cell in cells for script in SCRIPTS if f'step("{script}"' in cell.source}
    assert list(steps) == list(SCRIPTS) and all(text_of(cell).strip() for cell in steps.values())

    # The plan: steps per epoch as the Trainer counted them in this run (its last checkpoint's state).
    plan = text_of(next(cell for cell in cells if "steps_per_epoch" in cell.source))
    states = sorted((run / "outputs" / "lora").glob("checkpoint-*/trainer_state.json"))
    state = json.loads(max(states, key=lambda path: int(path.parent.name[11:])).read_text())
    epochs = common.PROFILES["demo"].get("NUM_EPOCHS", common.NUM_EPOCHS)
    assert f" {state['max_steps'] // epochs:,} optimizer steps per epoch" in plan
    assert "no CUDA GPU: README reports no measured speed for it" in plan
    assert f"training is finished ({state['max_steps']} steps)" in plan

    report = cells[-1].outputs
    shown = [output for output in report if output.output_type == "display_data"]
    assert [sorted(output.data) for output in shown] == [["text/markdown", "text/plain"], ["image/png", "text/plain"]]
    assert shown[0].data["text/markdown"] == (run / "outputs" / "report.md").read_text(encoding="utf-8")
    assert len(shown[1].data["image/png"]) > 1000
    assert NOTEBOOK.read_bytes() == before  # executed in memory: the file users open is left as it is
    assert files_of(run) == files_of(demo_run)


def test_a_failing_step_fails_its_cell_and_stops_the_notebook(tmp_path, monkeypatch):
    env = {
        "PROFILE": "demo",
        "SPIDER_DIR": str(tmp_path / "nowhere"),
        "PREPARED_DIR": str(tmp_path / "prepared"),
        "OUTPUT_DIR": str(tmp_path / "outputs"),
    }
    notebook, client = notebook_client(monkeypatch, env)
    with pytest.raises(CellExecutionError, match="0_preparando_dados.py stopped with exit code 2"):
        client.execute()
    cells = code_cells(notebook)
    failed = [index for index, cell in enumerate(cells) if any(out.output_type == "error" for out in cell.outputs)]
    assert len(failed) == 1 and cells[failed[0]].source == 'step("0_preparando_dados.py")'
    assert "nowhere does not exist" in text_of(cells[failed[0]])  # the script's own one line, shown in the cell
    assert not any(cell.execution_count for cell in cells[failed[0] + 1 :])
