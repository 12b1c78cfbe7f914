"""The five scripts on the demo profile, as a user runs them: the report agrees with the per-example files; an
evaluation killed mid-file and run again ends with the same records; bad input at every stage is one line, exit
code 2, and nothing changed. One finished demo run (conftest's demo_run) is shared; bad input runs in-process on
copies of it."""

import csv
import hashlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import common
import conftest
from conftest import PROJECT_DIR, demo_environment, load_script, use_directories
from tradeoff import files
from tradeoff.files import SCRIPTS

SPIDER_KEYS = ("base_3shot", "base_0shot", "lora_epoch3", "lora_epoch5")
MMLU_KEYS = ("base", "lora_epoch3", "lora_epoch5")


def records(root, benchmark, key):
    return sorted(files.read_records(root / "outputs" / benchmark / f"{key}.jsonl"), key=lambda r: r["index"])


def test_the_report_is_the_per_example_files(demo_run):
    outputs = demo_run / "outputs"
    report = (outputs / "report.md").read_text()
    results = json.loads((outputs / "results.json").read_text())
    dev_size = len(json.loads((demo_run / "prepared/spider_dev.json").read_text()))
    for key in SPIDER_KEYS:
        rows = records(demo_run, "spider", key)
        assert [r["index"] for r in rows] == list(range(dev_size))
        accuracy = sum(r["score"] for r in rows) / len(rows)
        summary = json.loads((outputs / "spider" / f"{key}.summary.json").read_text())
        assert summary["accuracy"] == pytest.approx(accuracy) and summary["n"] == dev_size
        assert f"{accuracy:.3f}" in report
    for key in MMLU_KEYS:
        rows = records(demo_run, "mmlu", key)
        assert len(rows) == 20 * 3
        assert all(r["predicted"] == max(range(4), key=r["letter_logprobs"].__getitem__) for r in rows)
        for category in {r["category"] for r in rows}:
            scores = [r["correct"] for r in rows if r["category"] == category]
            assert f"{sum(scores) / len(scores):.3f}" in report
    assert "missing" not in report and "LEAKAGE" not in report
    assert results["profile"] == "demo" and "lora_epoch5" in json.dumps(results)
    assert (outputs / "tradeoff.png").read_bytes().startswith(b"\x89PNG")
    assert (outputs / "training_loss.png").read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------------------------
# Kills


@pytest.mark.parametrize(
    "script, kind, key, lines", [(SCRIPTS[2], "spider", "base_3shot", 20), (SCRIPTS[4], "mmlu", "lora_epoch3", 10)]
)
def test_killed_evaluation_resumes_to_the_same_records(demo_run, tmp_path, script, kind, key, lines):
    """An evaluation killed mid-way through one file of records (the others done), run again, ends with the shared
    run's records (and report). Script 3 shares script 2's loop."""
    root = copy_of_run(demo_run, tmp_path)
    folder = root / "outputs" / kind
    for path in folder.glob(f"{key}.*"):
        path.unlink()
    conftest.killed_then_rerun(
        script, demo_environment(root), lambda: conftest.line_count(folder / f"{key}.jsonl") >= lines
    )
    for done in SPIDER_KEYS if kind == "spider" else MMLU_KEYS:
        assert records(root, kind, done) == records(demo_run, kind, done), done
    report, expected = ((run / "outputs/report.md").read_text().splitlines() for run in (root, demo_run))
    assert [line for line in report if "as of:" not in line] == [line for line in expected if "as of:" not in line]
    assert not list(root.rglob(".*.tmp-*"))


def test_ctrl_c_is_one_line_exit_130(demo_run, tmp_path):
    shutil.copytree(demo_run / "prepared", tmp_path / "prepared")
    shutil.copytree(demo_run / "outputs" / "lora", tmp_path / "outputs" / "lora")
    process = subprocess.Popen(
        [sys.executable, SCRIPTS[2]],
        env=dict(os.environ, **demo_environment(tmp_path)),
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As a terminal's foreground job has it: a job started in the background of a shell script (a suite run
        # with `&`) ignores SIGINT, and a Python started so keeps ignoring it, so the script would run to its end.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while conftest.line_count(tmp_path / "outputs/spider/base_3shot.jsonl") < 1 and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group, the SQL worker too
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "interrupted; run the same command to continue"
    assert "Traceback" not in stderr


# ---------------------------------------------------------------------------------------------------------------
# Stale results


def test_the_report_shows_no_result_of_other_inputs_than_those_of_now(demo_run, tmp_path, monkeypatch, capsys):
    """Results made with another adapter, model or loading, or from other prepared files or settings, than those of
    now are reported stale, naming the script that refreshes them; run again, it reuses every record that still holds
    and they are reported again."""
    root = copy_of_run(demo_run, tmp_path)
    outputs, manifest_path = root / "outputs", root / "outputs/lora/run_manifest.json"

    def stale_in_report(**settings):
        with monkeypatch.context() as changed:
            for name, value in settings.items():
                changed.setattr(common, name, value)
            assert run_in_process(SCRIPTS[4], root, monkeypatch, ["--report-only"]) == 0
        rows = csv.DictReader((outputs / "results.csv").open())
        stale = {(r["benchmark"].partition("_")[0], r["model"]) for r in rows if r["status"] == "stale"}  # per file
        assert stale == {tuple(name.split()) for name in json.loads((outputs / "results.json").read_text())["stale"]}
        return stale, (outputs / "report.md").read_text()

    assert stale_in_report()[0] == set()
    assert (outputs / "results.csv").read_bytes() == (demo_run / "outputs/results.csv").read_bytes()

    manifest = manifest_path.read_text()
    edit_json(manifest_path, lambda m: dict(m, epochs=dict(m["epochs"], **{"5": m["epochs"]["3"]})))
    stale, report = stale_in_report()
    assert stale == {("spider", "lora_epoch5"), ("mmlu", "lora_epoch5")}
    assert "| tiny-qwen2-LoRA | 5 | stale (run 3_avaliacao_customizada.py) | — |" in report
    assert "| LoRA (5 épocas) | stale (run 4_analise_mmlu.py) | — |" in report
    assert "spider lora_epoch5, made with another adapter than epoch 5's now (run 3_avaliacao_customizada.py)" in report
    assert (
        "not reported, made from other inputs than those of now (see the report): spider lora_epoch5, mmlu "
        "lora_epoch5" in capsys.readouterr().out
    )
    manifest_path.write_text(manifest)

    # Settings that shaped the questions: the base 3-shot's shots, the MMLU prompts.
    assert stale_in_report(BASELINE_SHOTS=2)[0] == {("spider", "base_3shot")}
    assert stale_in_report(MMLU_SHOTS=3)[0] == {("mmlu", key) for key in MMLU_KEYS}
    stale, report = stale_in_report(SEED=7)
    assert stale == {("spider", "base_3shot")} | {("mmlu", key) for key in MMLU_KEYS}
    assert "mmlu base, made with other SEED than those of now (run 4_analise_mmlu.py)" in report

    # The model, how it is loaded, how the answers are made: the files each setting reaches.
    spider, mmlu = {("spider", key) for key in SPIDER_KEYS}, {("mmlu", key) for key in MMLU_KEYS}
    stale, report = stale_in_report(MODEL_NAME="Qwen/Qwen2-7B-Instruct")
    assert stale == spider | mmlu and "made with other MODEL_NAME than those of now" in report
    for changed in ({"LOAD_IN_4BIT": False}, {"BNB_4BIT_QUANT_TYPE": "fp4"}, {"COMPUTE_DTYPE": "float16"}):
        assert stale_in_report(**changed)[0] == spider | mmlu
    assert stale_in_report(MAX_NEW_TOKENS=40)[0] == stale_in_report(INFERENCE_ENGINE="vllm")[0] == spider
    assert stale_in_report(MMLU_PROMPT_FORMAT="chat")[0] == stale_in_report(MMLU_GENERATION_TOKENS=4)[0] == mmlu
    assert "LOAD_IN_4BIT = True" in report and "MAX_NEW_TOKENS = 48" in report  # the settings now, in the header

    # The same training questions written otherwise: every Spider file read another spider_train.json.
    edit_json(root / "prepared/spider_train.json", lambda entries: entries)
    assert stale_in_report()[0] == {("spider", key) for key in SPIDER_KEYS}
    before = snapshot(outputs / "spider")
    assert run_in_process(SCRIPTS[2], root, monkeypatch) == 0
    assert "recomputing" not in capsys.readouterr().out
    assert {path: sha for path, sha in snapshot(outputs / "spider").items() if path.suffix == ".jsonl"} == {
        path: sha for path, sha in before.items() if path.suffix == ".jsonl"
    }
    assert stale_in_report()[0] == {("spider", "lora_epoch3"), ("spider", "lora_epoch5")}


# ---------------------------------------------------------------------------------------------------------------
# Bad input: in-process on a copy of the run, each case one line on stderr, exit code 2, no file changed


def copy_of_run(demo_run, tmp_path):
    for folder in ("prepared", "outputs"):
        shutil.copytree(demo_run / folder, tmp_path / folder)
    return tmp_path


def snapshot(folder):
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in Path(folder).rglob("*") if path.is_file()}


def run_in_process(script, root, monkeypatch, argv=()):
    """files.run_main(main) of a numbered script with its files under root: (exit code, stderr's last line)."""
    module = load_script(script)
    paths = use_directories(monkeypatch, root / "prepared", root / "outputs")
    main = module.main
    arguments = (list(argv),) if "argv" in inspect.signature(main).parameters else ()
    with pytest.raises(SystemExit) as exit_:
        files.run_main(lambda: main(*arguments), paths.prepared if script == SCRIPTS[0] else paths.outputs)
        raise SystemExit(0)
    return exit_.value.code


def assert_one_line_exit_2(code, stderr, message):
    lines = stderr.strip().splitlines()
    assert code == 2 and lines and lines[-1].startswith("error: ") and message in lines[-1], stderr[-2000:]
    assert "Traceback" not in stderr


def first_adapter(root):
    """The adapter of the first evaluated epoch (EVAL_EPOCHS: 3, 5)."""
    return root / "outputs/lora" / json.loads((root / "outputs/lora/run_manifest.json").read_text())["epochs"]["3"]


def edit_json(path, change):
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def unfinished_with(root, damage, which=max):
    """An unfinished training run whose newest (or, which=min, oldest) checkpoint is damaged (a disk that filled)."""
    edit_json(root / "outputs/lora/run_manifest.json", lambda manifest: dict(manifest, finished=False))
    damage(which((root / "outputs/lora").glob("checkpoint-*"), key=lambda folder: int(folder.name.split("-")[1])))


def truncate(path, keep):
    path.write_bytes(path.read_bytes()[:keep])


def replace_with_folder(path):
    path.unlink()
    path.mkdir()


PREDICTION = '{"db_id": "%s", "question": "q", "query": "SELECT 1", "prediction": "SELECT 1"}'
# (script, damage to a copy of the run, arguments, the message)
BAD_INPUTS = {
    "corrupt prepared file": (
        SCRIPTS[2],
        lambda root: truncate(root / "prepared/spider_dev.json", 100),
        (),
        "spider_dev.json is not valid JSON",
    ),
    "prepared db_id leaves SPIDER_DIR": (
        SCRIPTS[2],
        lambda root: edit_json(root / "prepared/spider_dev.json", lambda entries: [dict(entries[0], db_id="../x")]),
        (),
        "spider_dev.json entry 0: db_id '../x' must be a plain database name",
    ),
    "prepared file missing": (
        SCRIPTS[4],
        lambda root: (root / "prepared/mmlu_test.json").unlink(),
        (),
        "mmlu_test.json is missing; run 0_preparando_dados.py first",
    ),
    "result line corrupt mid-file": (
        SCRIPTS[3],
        lambda root: (root / "outputs/spider/lora_epoch3.jsonl").write_text('{"index": 0}\n{bad\n{"index": 2}\n'),
        (),
        "lora_epoch3.jsonl line 2 is corrupt; delete the file to recompute it",
    ),
    "result record without index": (
        SCRIPTS[3],
        lambda root: (root / "outputs/spider/lora_epoch3.jsonl").write_text('{"key": "x"}\n{"key": "y"}\n'),
        (),
        "lora_epoch3.jsonl line 1 has no index",
    ),
    "results file not UTF-8": (
        SCRIPTS[2],
        lambda root: (root / "outputs/spider/base_0shot.jsonl").write_bytes(b"\xff\n"),
        (),
        "base_0shot.jsonl is not UTF-8 text (byte 0)",
    ),
    "results file is a folder": (
        SCRIPTS[2],
        lambda root: replace_with_folder(root / "outputs/spider/base_0shot.jsonl"),
        (),
        "base_0shot.jsonl is a folder, not a results file",
    ),
    "adapter without weights": (
        SCRIPTS[3],
        lambda root: (first_adapter(root) / "adapter_model.safetensors").unlink(),
        (),
        "is damaged (No such file or directory",
    ),
    "truncated adapter weights": (
        SCRIPTS[4],
        lambda root: truncate(first_adapter(root) / "adapter_model.safetensors", -100),
        (),
        "is damaged (",
    ),
    "corrupt adapter config": (
        SCRIPTS[3],
        lambda root: (first_adapter(root) / "adapter_config.json").write_text("{"),
        (),
        "adapter_config.json is not valid JSON",
    ),
    "adapter config of the wrong kind": (
        SCRIPTS[3],
        lambda root: edit_json(first_adapter(root) / "adapter_config.json", lambda config: dict(config, r="x")),
        (),
        "field 'r': 'x' is not of type 'integer'",
    ),
    "corrupt trainer state of an earlier epoch": (  # torn in the newest checkpoint, it is a save cut short
        SCRIPTS[1],
        lambda root: unfinished_with(root, lambda folder: (folder / "trainer_state.json").write_text('{"e'), min),
        (),
        "trainer_state.json is unreadable",
    ),
    "truncated optimizer state": (
        SCRIPTS[1],
        lambda root: unfinished_with(root, lambda folder: truncate(folder / "optimizer.pt", 100)),
        (),
        "optimizer.pt: ",
    ),
    "no adapter for an epoch": (SCRIPTS[3], None, {"EVAL_EPOCHS": (3, 7)}, "no adapter for epoch 7"),
    "predictions file is a folder": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").mkdir(),
        ["--predictions", "p.jsonl"],
        "p.jsonl is a folder",
    ),
    "predictions not UTF-8": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").write_bytes(b"\xff\xfe{"),
        ["--predictions", "p.jsonl"],
        "is not UTF-8 text",
    ),
    "empty predictions file": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").write_text(""),
        ["--predictions", "p.jsonl"],
        "holds no predictions",
    ),
    "question not text": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").write_text(PREDICTION.replace('"q"', "7") % "music_festival"),
        ["--predictions", "p.jsonl"],
        "p.jsonl line 1 field 'question': 7 is not of type 'string'; correct it",
    ),
    "db_id leaves SPIDER_DIR": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").write_text(PREDICTION % "../../etc"),
        ["--predictions", "p.jsonl"],
        "db_id '../../etc' must be a plain database name",
    ),
    "unknown database": (
        SCRIPTS[3],
        lambda root: (root / "p.jsonl").write_text(PREDICTION % "no_such_db"),
        ["--predictions", "p.jsonl"],
        "database 'no_such_db' is missing from",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_each_class_of_bad_input_is_one_line_exit_2_and_changes_nothing(demo_run, tmp_path, monkeypatch, capsys, case):
    script, damage, extra, message = BAD_INPUTS[case]
    root = copy_of_run(demo_run, tmp_path)
    if damage:
        damage(root)
    module = load_script(script)
    for name, value in extra.items() if isinstance(extra, dict) else ():
        monkeypatch.setattr(module.common, name, value)
    argv = [str(root / arg) if arg.endswith(".jsonl") else arg for arg in extra] if isinstance(extra, list) else ()
    before = snapshot(root)
    code = run_in_process(script, root, monkeypatch, argv)
    assert_one_line_exit_2(code, capsys.readouterr().err, message)
    assert snapshot(root) == before


def test_a_gold_query_that_fails_stops_the_run_in_one_line(demo_run, tmp_path, monkeypatch, capsys):
    """As in the official evaluators: scored 0, it would count a right answer wrong. Nothing done before is lost."""
    root = copy_of_run(demo_run, tmp_path)
    (root / "p.jsonl").write_text(PREDICTION.replace("SELECT 1", "SELECT x FROM nowhere", 1) % "music_festival")
    before = snapshot(root / "outputs")
    code = run_in_process(SCRIPTS[3], root, monkeypatch, ["--predictions", str(root / "p.jsonl")])
    message = "the gold query 'SELECT x FROM nowhere' fails on the database"
    assert_one_line_exit_2(code, capsys.readouterr().err, message)
    assert before.items() <= snapshot(root / "outputs").items()


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_is_refused_while_another_run_holds_its_folder(demo_run, tmp_path, monkeypatch, capsys, script):
    root = copy_of_run(demo_run, tmp_path)
    folder = root / ("prepared" if script == SCRIPTS[0] else "outputs")
    (folder / files.LOCK_NAME).write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    before = snapshot(root)
    code = run_in_process(script, root, monkeypatch, [])
    assert_one_line_exit_2(code, capsys.readouterr().err, "another run (PID 1 on elsewhere) is writing")
    assert snapshot(root) == before
