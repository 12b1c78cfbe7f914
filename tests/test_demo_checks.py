"""The end-to-end checks (demo_checks.py): the shared finished demo run (conftest's demo_run) passes them, its report
included, and each deliberate breakage of a copy of it is caught, whether the report is left as it was or drawn
again from the broken files: every score wrong, epochs swapped, base and last epoch swapped, paired questions
shuffled, a misread report. The same on a small hand-made run, where each number is known."""

import hashlib
import json
import shutil

import pytest
from demo_checks import (
    BREAKAGES,
    accuracy,
    breakdown,
    check_demo_results,
    mcnemar_p,
    read_records,
    what_the_report_says,
)

import common
from tradeoff import report
from tradeoff.files import Paths

EPOCHS = (3, 5)
QUESTIONS = 110
# Correct answers per model: like the demo's measured run, the base 0-shot near zero and the epochs far above it.
CORRECT = {
    "base_3shot": range(0, 110, 9),
    "base_0shot": range(0, 110, 40),
    "lora_epoch3": range(0, 110, 3),
    "lora_epoch5": range(0, 110, 2),
}


def write_run(root):
    """A finished run's Spider files as the pipeline writes them: per-example records, made_with, adapters."""
    (root / "spider").mkdir(parents=True)
    manifest = {"epochs": {}}
    digests = {}
    for epoch in EPOCHS:
        folder = root / "lora" / f"checkpoint-{epoch * 10}"
        folder.mkdir(parents=True)
        (folder / "adapter_model.safetensors").write_bytes(f"weights of epoch {epoch}".encode())
        manifest["epochs"][str(epoch)] = folder.name
        digests[f"lora_epoch{epoch}"] = hashlib.sha256(f"weights of epoch {epoch}".encode()).hexdigest()
    (root / "lora" / "run_manifest.json").write_text(json.dumps(manifest))
    for key, correct in CORRECT.items():
        lines = []
        for index in range(QUESTIONS):
            score = int(index in correct)
            lines.append(
                {
                    "index": index,
                    "db_id": "music_festival" if index < 55 else "school_district",
                    "gold": f"SELECT {index}",
                    "hardness": ("easy", "medium", "hard", "extra")[index % 4],
                    "score": score,
                    "strict_score": score if index % 5 else 0,
                    "error_kind": None if score else "wrong_result",
                }
            )
        (root / "spider" / f"{key}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        (root / "spider" / f"{key}.made_with.json").write_text(json.dumps({"adapter_sha256": digests.get(key)}))
    return root


@pytest.fixture
def finished_run(tmp_path):
    return write_run(tmp_path / "run")


def test_a_run_of_a_working_pipeline_has_no_problem(finished_run):
    last = read_records(finished_run / "spider" / "lora_epoch5.jsonl")
    base = read_records(finished_run / "spider" / "base_0shot.jsonl")
    reported = {
        "accuracy": {"lora_epoch5": accuracy(last)},
        "epoch_rows": [(0, accuracy(base)), (3, 37 / 110), (5, accuracy(last))],
        "hardness": breakdown(last, "hardness"),
        "db_id": breakdown(last, "db_id"),
        "mcnemar_p": mcnemar_p([r["score"] for r in base], [r["score"] for r in last]),
    }
    assert check_demo_results(finished_run, EPOCHS, reported=reported) == []


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_deliberate_breakage_is_caught(finished_run, tmp_path, breakage):
    broken = tmp_path / "broken"
    shutil.copytree(finished_run, broken)
    BREAKAGES[breakage](broken, EPOCHS)
    assert check_demo_results(finished_run, EPOCHS) == []
    assert check_demo_results(broken, EPOCHS), breakage


@pytest.mark.parametrize(
    "reported, problem",
    [
        ({"epoch_rows": [(0, 6 / 110), (5, 0.5), (3, 37 / 110)]}, "not epochs [0, 3, 5] in order"),
        ({"epoch_rows": [(0, 6 / 110), (3, 0.5), (5, 37 / 110)]}, "per-epoch row's accuracy"),
        ({"accuracy": {"lora_epoch3": 0.5}}, "lora_epoch3 accuracy 0.5"),
        ({"hardness": {"easy": (28, 14), "medium": (28, 0)}}, "hardness table's counts do not add up to 110"),
        ({"db_id": {"music_festival": (55, 28), "school_district": (55, 28)}}, "db_id table is not"),
        ({"mcnemar_p": 0.2}, "McNemar p 0.2"),
    ],
)
def test_a_report_that_misreads_the_per_example_files_is_caught(finished_run, reported, problem):
    problems = check_demo_results(finished_run, EPOCHS, reported=reported)
    assert any(problem in line for line in problems), problems


def test_a_run_where_fine_tuning_changed_nothing_is_caught(finished_run):
    for key in ("lora_epoch3", "lora_epoch5"):
        shutil.copy(finished_run / "spider" / "base_0shot.jsonl", finished_run / "spider" / f"{key}.jsonl")
    problems = check_demo_results(finished_run, EPOCHS)
    assert any("is not below" in line for line in problems) and any("flat" in line for line in problems)


# ---------------------------------------------------------------------------------------------------------------
# The shared finished demo run


def settings():
    return report.ReportSettings.of(common)


def test_the_finished_demo_run_shows_a_working_pipeline(demo_run):
    outputs = demo_run / "outputs"
    reported = what_the_report_says(outputs, settings())
    problems = check_demo_results(outputs, common.EVAL_EPOCHS, reported=reported)
    assert problems == [], "\n".join(problems)
    dev_size = len(json.loads((demo_run / "prepared" / "spider_dev.json").read_text()))
    assert dev_size >= 100 and sum(n for n, _ in reported["hardness"].values()) == dev_size
    assert reported["epoch_rows"][0][1] < reported["epoch_rows"][-1][1]


@pytest.fixture
def run_copy(demo_run, tmp_path):
    for folder in ("prepared", "outputs"):
        shutil.copytree(demo_run / folder, tmp_path / folder)
    return tmp_path


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_deliberate_breakage_of_the_finished_run_is_caught(run_copy, breakage):
    """Broken per-example files under the old report: the report no longer agrees with them. The report drawn again
    from the broken files (4_analise_mmlu.py --report-only's code): the run no longer shows a working pipeline."""
    outputs = run_copy / "outputs"
    BREAKAGES[breakage](outputs, common.EVAL_EPOCHS)
    stale = check_demo_results(outputs, common.EVAL_EPOCHS, reported=what_the_report_says(outputs, settings()))
    assert stale, breakage
    report.build_report(Paths(run_copy / "prepared", outputs), settings())
    redrawn = check_demo_results(outputs, common.EVAL_EPOCHS, reported=what_the_report_says(outputs, settings()))
    assert redrawn, breakage


def test_a_report_drawn_from_other_results_is_caught(run_copy):
    """results.json and tradeoff.png of a run whose epochs were mislabelled, beside the right per-example files."""
    outputs = run_copy / "outputs"
    results = json.loads((outputs / "results.json").read_text())
    last = f"lora_epoch{common.EVAL_EPOCHS[-1]}"
    for row in results["rows"]:
        if row["model"] in ("base_0shot", last):
            row["model"] = last if row["model"] == "base_0shot" else "base_0shot"
    (outputs / "results.json").write_text(json.dumps(results))
    problems = check_demo_results(outputs, common.EVAL_EPOCHS, reported=what_the_report_says(outputs, settings()))
    assert any("accuracy" in line for line in problems) and any("tradeoff.png" in line for line in problems), problems
