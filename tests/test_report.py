"""tradeoff.report on small per-example files in a temporary folder: numbers, missing parts, leakage, consistency."""

import csv
import json
from dataclasses import replace

import pytest

from tradeoff import files, report
from tradeoff.report import ReportSettings, Table
from tradeoff.stats import (
    MMLU_STD_DDOF,
    SPIDER_STD_DDOF,
    aggregate_accuracy,
    minimum_detectable_difference,
    paired_comparison,
    sample_size_for,
    summarize_scores,
)

EXPECTED_SPIDER = 10
PER_SUBJECT = 6
DATABASES = ("concert_singer", "pets_1", "car_1")
# Fixed 0/1 patterns per model (index order). base_0shot is an incomplete run (8 of 10); lora_epoch5 is missing.
SPIDER_SCORES = {
    "base_3shot": [1, 0, 1, 0, 0, 1, 0, 0, 1, 0],
    "base_0shot": [0, 0, 1, 0, 0, 1, 0, 0],
    "lora_epoch3": [1, 1, 1, 1, 0, 1, 1, 1, 1, 0],
}
SPIDER_STRICT = {key: [s if i % 4 else 0 for i, s in enumerate(values)] for key, values in SPIDER_SCORES.items()}
ERROR_CYCLE = ("syntax", "wrong_result", "unknown_table_or_column", "other", "too_long", "timeout")
HARDNESS_CYCLE = ("easy", "medium", "hard", "extra")
# The official test-suite score where it was computed (TEST_SUITE_DIR set): the strict score here, null for index 9.
SPIDER_TEST_SUITE = {key: [s if i != 9 else None for i, s in enumerate(v)] for key, v in SPIDER_STRICT.items()}
LOSS_LOG = (
    "step,epoch,loss,learning_rate,grad_norm\n10,0.5,2.5,0.0002,1.1\n20,1.0,1.75,0.00018,0.9\n30,1.5,1.25,0.00016,\n"
)
SUBJECTS = {"elementary_mathematics": "STEM", "management": "social sciences", "philosophy": "humanities"}
# MMLU: per subject (in SUBJECTS order, which is also the study's category order) the 0/1 of 6 questions.
MMLU_SCORES = {
    "base": [1, 0, 0, 1, 0, 0] + [0, 1, 0, 0, 0, 1] + [1, 0, 1, 0, 0, 0],
    "lora_epoch3": [1, 1, 0, 1, 0, 0] + [0, 1, 0, 0, 1, 1] + [1, 0, 0, 0, 0, 0],
    "lora_epoch5": [1, 1, 1, 1, 1, 1] + [1, 1, 1, 1, 1, 1] + [1, 1, 1, 1, 1, 0],
}
SETTINGS = ReportSettings(
    profile="demo",
    model_name="outputs/cache/tiny-qwen2",
    load_in_4bit=True,
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=False,
    compute_dtype="auto",
    seed=42,
    train_split="train",
    evaluation_entries_size=EXPECTED_SPIDER,
    eval_epochs=(3, 5),
    baseline_shots=3,
    max_new_tokens=48,
    inference_engine="hf",
    mmlu_shots=4,
    mmlu_questions_per_subject=PER_SUBJECT,
    mmlu_subjects=SUBJECTS,
    mmlu_prompt_format="plain",
    mmlu_generation_score=True,
    mmlu_generation_tokens=8,
)
MISSING_LORA = "missing (run 3_avaliacao_customizada.py)"
NOT_DISTINGUISHABLE = "not distinguishable from no change at this sample size"


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def spider_records(key):
    records = []
    for index, score in enumerate(SPIDER_SCORES[key]):
        records.append(
            {
                "index": index,
                "db_id": DATABASES[index % 3],
                "question": f"q{index}",
                "gold": f"SELECT name FROM singer WHERE id = {index}",
                # A backtick-quoted identifier and a pipe: the error examples must still render as one code span.
                "prediction": f"SELECT `name` FROM singers WHERE a || b = {index}",
                "score": score,
                "strict_score": SPIDER_STRICT[key][index],
                "test_suite_score": SPIDER_TEST_SUITE[key][index],
                "hardness": HARDNESS_CYCLE[index % 4],
                "reason": "" if score else f"reason {index}",
                "error_kind": None if score else ERROR_CYCLE[index % len(ERROR_CYCLE)],
            }
        )
    return records


def mmlu_records(key):
    subjects = list(SUBJECTS.items())
    records = []
    for index, correct in enumerate(MMLU_SCORES[key]):
        subject, category = subjects[index // PER_SUBJECT]
        # Every seventh generation gave no answer letter: scored wrong, and counted under Table II-b.
        unparseable = index % 7 == 0
        records.append(
            {
                "index": index,
                "subject": subject,
                "category": category,
                "correct": correct,
                "generated_text": "I am not sure" if unparseable else "A",
                "generated_choice": None if unparseable else 0,
                "generated_correct": 0 if unparseable else (correct if index % 3 else 1 - correct),
            }
        )
    return records


@pytest.fixture
def outputs(tmp_path):
    """The fixed result files and loss log in tmp_path (the output folder)."""
    for key in SPIDER_SCORES:
        write_jsonl(tmp_path / "spider" / f"{key}.jsonl", spider_records(key))
    for key in MMLU_SCORES:
        write_jsonl(tmp_path / "mmlu" / f"{key}.jsonl", mmlu_records(key))
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "loss_log.csv").write_text(LOSS_LOG, encoding="utf-8")
    return tmp_path


def build(outputs, **changes):
    """build_report with SETTINGS (and changes) on outputs: (results, the long table, report.md)."""
    paths = files.Paths(outputs / "prepared", outputs)
    results = report.build_report(paths, replace(SETTINGS, **changes))
    return results, Table(results["rows"]), paths.report.read_text(encoding="utf-8")


def csv_rows(outputs):
    """results.csv keyed by (benchmark, model, group, slice, versus)."""
    rows = csv.DictReader((outputs / "results.csv").open(encoding="utf-8"))
    return {(r["benchmark"], r["model"], r["group"], r["slice"], r["versus"]): r for r in rows}


def write_manifest(outputs, overlap, split):
    files.write_json(
        outputs / "lora" / "run_manifest.json",
        {
            "config": {"TRAIN_SPLIT": split},
            "train_examples": 7000,
            "overlap_with_evaluated": overlap,
            "evaluated_questions": EXPECTED_SPIDER,
            "dropped_too_long": 2,
            "finished": True,
        },
    )


def table_row(markdown, title, label):
    """Cells of the first row starting with `label` in the table that follows the heading containing `title`."""
    for line in markdown[markdown.index(title) :].splitlines():
        if line.startswith(f"| {label} |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise AssertionError(f"no row {label!r} after {title!r}")


def cell(summary):
    return f"[{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def test_settings_from_the_configuration():
    import common

    settings = ReportSettings.of(common)
    assert settings.eval_epochs == common.EVAL_EPOCHS and settings.mmlu_prompt_format == common.MMLU_PROMPT_FORMAT


def test_spider_table_matches_records(outputs):
    write_manifest(outputs, overlap=0, split="train")
    results, table, markdown = build(outputs)
    labels = {"base_3shot": "tiny-qwen2 (base, 3-shot)", "base_0shot": "tiny-qwen2 (base, 0-shot)"}
    labels["lora_epoch3"] = "tiny-qwen2-LoRA | 3"
    for key, label in labels.items():
        expected = summarize_scores(SPIDER_SCORES[key], ddof=SPIDER_STD_DDOF)
        strict = summarize_scores(SPIDER_STRICT[key], ddof=SPIDER_STD_DDOF)
        row = table_row(markdown, "Table I", label)
        assert row[2].startswith(f"{expected['accuracy']:.3f}") and row[3] == f"{expected['std']:.3f}"
        assert row[4] == cell(expected) and row[5] == f"{strict['accuracy']:.3f} {cell(strict)}"
        assert {name: table.get("spider", key)[name] for name in expected} == expected
    # The incomplete run says so; the complete ones don't.
    assert "(n=8 of 10)" in table_row(markdown, "Table I", labels["base_0shot"])[2]
    assert "of 10" not in table_row(markdown, "Table I", labels["base_3shot"])[2]
    assert (
        table.get("spider", "base_0shot")["status"] == "incomplete"
        and table.get("spider", "base_3shot")["status"] == "ok"
    )
    # McNemar vs base 3-shot on all 10 items; vs base 0-shot on the 8 shared indices only.
    test3 = paired_comparison(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    test0 = paired_comparison(SPIDER_SCORES["base_0shot"], SPIDER_SCORES["lora_epoch3"][:8])
    row = table_row(markdown, "Table I", labels["lora_epoch3"])
    assert row[7] == f"{test3['p_value']:.4f} (b={test3['b']}, c={test3['c']}, n=10)"
    assert row[8] == f"{test0['p_value']:.4f} (b={test0['b']}, c={test0['c']}, n=8)"
    # Error breakdown: the wrong answers by kind.
    wrong = [ERROR_CYCLE[i % len(ERROR_CYCLE)] for i, s in enumerate(SPIDER_SCORES["base_3shot"]) if not s]
    errors = {kind: table.get("spider", "base_3shot", "error", kind)["n"] for kind in report.ERROR_KINDS}
    assert errors["syntax"] == wrong.count("syntax") and sum(errors.values()) == len(wrong)
    assert errors["other"] + errors["too_long"] == wrong.count("other") + wrong.count("too_long") == 3
    assert table_row(markdown, "Spider errors", labels["base_3shot"])[2:4] == ["10", "4"]
    # Databases listed, the study's sample note and the demo warning.
    assert "cover 3 database(s): car_1, concert_singer, pets_1" in markdown
    assert "1034 questions, 20 databases" in markdown and "tiny local model" in markdown


def delta_line(markdown):
    return next(line for line in markdown.splitlines() if line.startswith("Δ accuracy, base 3-shot"))


def test_study_delta_in_percent_and_in_points(outputs):
    _, table, markdown = build(outputs, eval_epochs=(3,))
    accuracy = {key: sum(values) / len(values) for key, values in SPIDER_SCORES.items()}
    points = accuracy["lora_epoch3"] - accuracy["base_3shot"]
    percent = 100 * points / accuracy["base_3shot"]
    # Beside each signed change, the reading of its paired test (Table I-b): vs base 3-shot b = 0, c = 4 of 10, an
    # interval above 0; vs base 0-shot b = 0, c = 5 of the 8 shared questions.
    test = paired_comparison(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    test0 = paired_comparison(SPIDER_SCORES["base_0shot"], SPIDER_SCORES["lora_epoch3"][:8])
    assert (test["b"], test["c"], test0["b"], test0["c"]) == (0, 4, 0, 5) and test["difference_ci_low"] > 0
    points0 = accuracy["lora_epoch3"] - accuracy["base_0shot"]
    assert f"{percent:+.1f}% ({100 * points:+.1f} pts): higher than base; base 0-shot" in delta_line(markdown)
    assert f"({100 * points0:+.1f} pts): {test0['reading']}. " in delta_line(markdown)
    # A base accuracy of 0: no relative change, the change in points still stands.
    write_jsonl(outputs / "spider" / "base_3shot.jsonl", [{**r, "score": 0} for r in spider_records("base_3shot")])
    assert f"→ LoRA epoch 3 (the study's Δ, relative): — (+{100 * accuracy['lora_epoch3']:.1f} pts)" in delta_line(
        build(outputs, eval_epochs=(3,))[2]
    )
    # Without the last epoch's file there is no test and no reading, only the change.
    (outputs / "spider" / "lora_epoch3.jsonl").unlink()
    line = delta_line(build(outputs, eval_epochs=(3,))[2])
    assert "higher" not in line and "— (—); base" in line


def test_missing_model_is_marked_missing_not_zero(outputs):
    _, table, markdown = build(outputs)
    row = table_row(markdown, "Table I", "tiny-qwen2-LoRA | 5")
    assert row[2] == MISSING_LORA and "0.000" not in " ".join(row)
    assert table.get("spider", "lora_epoch5")["status"] == "missing" and table.get("spider", "lora_epoch5")["n"] is None
    assert table_row(markdown, "Table I-b", "LoRA epoch 5 | base_0shot")[2] == "missing"
    missing = csv_rows(outputs)[("spider", "lora_epoch5", "all", "all", "base_3shot")]
    assert missing["status"] == "missing" and missing["accuracy"] == "" and missing["n"] == ""
    # Without a manifest the report says so and names the configured split.
    assert "manifest missing (run 1_fine-tuning.py); configured TRAIN_SPLIT = train" in markdown
    # Delete the MMLU base file too: Table II and III mark it missing, the readings give no test.
    (outputs / "mmlu" / "base.jsonl").unlink()
    _, _, markdown = build(outputs)
    assert table_row(markdown, "Table II", "Base")[1] == "missing (run 4_analise_mmlu.py)"
    assert table_row(markdown, "Table III", "STEM")[1] == "—"
    assert table_row(markdown, "Table II-c", "LoRA epoch 3 | all")[2] == "missing"
    assert "- lora_epoch3: no test (base or model results missing)." in markdown


def test_mmlu_tables_match_records(outputs):
    _, table, markdown = build(outputs)
    names = {"STEM": "STEM", "social sciences": "Ciências Sociais", "humanities": "Humanidades"}
    accuracies = {}
    for key, label in (("base", "Base"), ("lora_epoch3", "LoRA (3 épocas)"), ("lora_epoch5", "LoRA (5 épocas)")):
        row = table_row(markdown, "Table II —", label)
        assert row[1] == str(3 * PER_SUBJECT)
        accuracies[key] = {}
        for column, category in enumerate(names, start=4):
            start = list(SUBJECTS.values()).index(category) * PER_SUBJECT
            expected = summarize_scores(MMLU_SCORES[key][start : start + PER_SUBJECT], ddof=MMLU_STD_DDOF)
            accuracies[key][category] = expected["accuracy"]
            assert row[column] == f"{expected['accuracy']:.3f} ± {expected['std']:.3f} {cell(expected)}"
        aggregate = aggregate_accuracy(accuracies[key].values())
        assert row[2] == f"{aggregate['accuracy']:.3f} ± {aggregate['std']:.3f}"
        # The micro average over all questions, with its own interval, beside the study's aggregate.
        micro = summarize_scores(MMLU_SCORES[key], ddof=MMLU_STD_DDOF)
        assert row[3] == f"{micro['accuracy']:.3f} {cell(micro)}"
        if key != "base":
            test = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES[key])
            assert row[7] == f"{test['p_value']:.4f} (b={test['b']}, c={test['c']}, n=18)"
    # The data's MMLU category names are printed as the study's labels, in its order.
    assert "| Ciências Sociais | Humanidades | McNemar p vs base (all items) |" in markdown
    # Table III: every epoch, percent change from the base and the reading of the category's paired test.
    for category, name in names.items():
        row = table_row(markdown, "Table III", name)
        base = accuracies["base"][category]
        start = list(SUBJECTS.values()).index(category) * PER_SUBJECT
        assert row[1] == f"{base:.3f}"
        for offset, key in ((2, "lora_epoch3"), (5, "lora_epoch5")):
            new = accuracies[key][category]
            test = paired_comparison(
                MMLU_SCORES["base"][start : start + PER_SUBJECT], MMLU_SCORES[key][start : start + PER_SUBJECT]
            )
            assert row[offset : offset + 3] == [f"{new:.3f}", f"{(new - base) / base * 100:+.1f}%", test["reading"]]
    # The aggregate's reading is that of all questions: no direction for epoch 3, higher for epoch 5.
    row = table_row(markdown, "Table III", "Agregada")
    assert row[4] == NOT_DISTINGUISHABLE and row[7] == "higher than base" and "Reading (paired, epoch 3)" in markdown
    # The reading lines: the micro-average change with its interval, test and power, beside the study's aggregate.
    readings = markdown.split("### Reading")[1]
    test = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES["lora_epoch5"])
    change = (
        aggregate_accuracy(accuracies["lora_epoch5"].values())["accuracy"]
        - aggregate_accuracy(accuracies["base"].values())["accuracy"]
    )
    assert (
        f"- LoRA epoch 5: MMLU micro average {test['difference']:+.3f} [{test['difference_ci_low']:+.3f}, "
        f"{test['difference_ci_high']:+.3f}] vs base (study aggregate {change:+.3f}; McNemar p = "
        f"{test['p_value']:.4f}, b = 0, c = 11, n = 18): higher than base; " in readings
    )
    assert "LoRA epoch 3: MMLU micro average" in readings and NOT_DISTINGUISHABLE in readings
    # The generation-based score gets its own table, computed from generated_correct.
    generated = [r["generated_correct"] for r in mmlu_records("lora_epoch5")]
    assert "Table II-b" in markdown and table.get("mmlu_generation", "lora_epoch5")["correct"] == sum(generated)


@pytest.mark.parametrize("overlap,split", [(0, "train"), (10, "dev")])
def test_leakage_warning_iff_overlap(outputs, overlap, split):
    write_manifest(outputs, overlap=overlap, split=split)
    results, _, markdown = build(outputs)
    stored = json.loads((outputs / "results.json").read_text(encoding="utf-8"))
    assert f"train split **{split}**" in markdown and stored["train_split"] == split
    warning = (
        "LEAKAGE: 10 of the 10 evaluated Spider questions were in the training data (TRAIN_SPLIT=dev); "
        "these Spider numbers measure memorisation, not generalisation."
    )
    assert stored["leakage_warning"] == (warning if overlap else None) and (warning in markdown) == bool(overlap)
    # The split the adapters were trained on is the manifest's, whatever is configured now.
    if split == "dev":
        assert "TRAIN_SPLIT = train  # configured now; the adapters were trained on dev" in markdown


def test_json_csv_markdown_consistent_and_plot_written(outputs):
    results, table, markdown = build(outputs)
    stored = json.loads((outputs / "results.json").read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(results)) and stored["rows"] == table.rows
    rows = csv_rows(outputs)
    assert len(rows) == len(table.rows) and list(next(iter(rows.values()))) == list(report.COLUMNS)
    for row in table.rows:
        written = rows[(row["benchmark"], row["model"], row["group"], row["slice"], row["versus"] or "")]
        for name, value in row.items():
            if isinstance(value, float):
                assert float(written[name]) == pytest.approx(value, abs=1e-6), name
            else:
                assert written[name] == ("" if value is None else str(value)), name
    for key in MMLU_SCORES:
        aggregate = table.get("mmlu", key, "aggregate")
        assert f"{aggregate['accuracy']:.3f} ± {aggregate['std']:.3f}" in markdown
        for category in SUBJECTS.values():
            summary = table.get("mmlu", key, "category", category)
            assert f"{summary['accuracy']:.3f} ± {summary['std']:.3f} {cell(summary)}" in markdown
    png = (outputs / "tradeoff.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert not [p for p in outputs.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_report_with_no_results_at_all(tmp_path):
    results, table, markdown = build(tmp_path)
    assert {r["status"] for r in table.rows} == {"missing"} and not table.slices("mmlu_generation", "all")
    assert results["date"] is None and "Results as of: no results yet" in markdown
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
    # Every section is there, empty and saying why.
    assert "Training loss: missing (run 1_fine-tuning.py)" in markdown
    assert "No fine-tuned model's Spider results yet" in markdown and "Sample: no Spider results yet." in markdown
    for table_name in ("I-c", "I-d"):  # by hardness, by database
        assert markdown.split(f"### Table {table_name} ")[1].split("\n\n")[1] == "— (no Spider results yet)."
    assert "## How many questions would be needed" in markdown
    assert (
        table_row(markdown, "How many questions", "Spider | LoRA epoch 3 vs base_0shot")[2:] == ["missing"] + ["—"] * 5
    )


def test_paired_comparisons_power_and_readings(outputs):
    _, table, markdown = build(outputs)
    # Spider, LoRA epoch 3 vs base 3-shot on all 10 questions: b, c, Newcombe interval, rate, detectable.
    expected = paired_comparison(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    row = table_row(markdown, "Table I-b", "LoRA epoch 3 | base_3shot")
    assert row[2:5] == ["10", str(expected["b"]), str(expected["c"])]
    interval = f"[{expected['difference_ci_low']:+.3f}, {expected['difference_ci_high']:+.3f}]"
    assert row[5] == f"{expected['difference']:+.3f} {interval}"
    assert row[7] == f"{(expected['b'] + expected['c']) / 10:.3f} (observed)"
    # n = 10 is too few for 80% power at any difference the observed discordance allows.
    assert expected["minimum_detectable_difference"] is None and row[8] == "not reachable"
    # MMLU, LoRA epoch 3 (b = 1, c = 2 of 18): the interval includes 0, so no direction is read into it.
    mmlu = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES["lora_epoch3"])
    assert (mmlu["b"], mmlu["c"]) == (1, 2) and mmlu["difference_ci_low"] < 0 < mmlu["difference_ci_high"]
    assert table_row(markdown, "Table II-c", "LoRA epoch 3 | all")[-1] == NOT_DISTINGUISHABLE
    # LoRA epoch 5 (c = 11 of 18, b = 0): distinguishable, and its detectable difference is the exact one.
    mmlu5 = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES["lora_epoch5"])
    row = table_row(markdown, "Table II-c", "LoRA epoch 5 | all")
    assert row[-1] == "higher than base"
    assert row[8] == f"{100 * minimum_detectable_difference(18, mmlu5['p_discordant']):.1f} pts"
    # Per category too: one row per category after "all", on that category's 6 questions.
    section = markdown.split("Table II-c")[1].split("Table II-d")[0]
    assert [line for line in section.splitlines() if line.startswith("| LoRA epoch 5 | STEM | 6 |")]
    # The generation score (Table II-b) gets the same paired columns, from generated_correct.
    generated = {key: [r["generated_correct"] for r in mmlu_records(key)] for key in MMLU_SCORES}
    for epoch in (3, 5):
        test = paired_comparison(generated["base"], generated[f"lora_epoch{epoch}"])
        row = table_row(markdown, "Table II-d", f"LoRA epoch {epoch} | all")
        assert row[2:5] == ["18", str(test["b"]), str(test["c"])] and row[6] == f"{test['p_value']:.4f}"
        assert row[-1] == test["reading"]
        detectable = test["minimum_detectable_difference"]
        assert row[8] == ("not reachable" if detectable is None else f"{100 * detectable:.1f} pts")
    assert "| LoRA epoch 3 | Ciências Sociais |" in markdown.split("Table II-d")[1]
    assert "Newcombe" in markdown and "80% power" in markdown
    # How many questions: n for 1, 2, 5, 10 points at the observed rate, exactly sample_size_for.
    needed = [str(sample_size_for(points / 100, mmlu5["p_discordant"])) for points in (1, 2, 5, 10)]
    row = table_row(markdown, "How many questions would be needed", "MMLU | LoRA epoch 5 vs base")
    assert row[2:] == ["18", f"{mmlu5['p_discordant']:.3f} (observed)", *needed]
    assert table_row(markdown, "How many questions would be needed", "MMLU (generation) | LoRA epoch 5 vs base")
    assert table.get("mmlu", "lora_epoch5", versus="base")["n_for_10pt"] == sample_size_for(0.10, mmlu5["p_discordant"])
    # The CSV carries the paired columns.
    written = csv_rows(outputs)[("spider", "lora_epoch3", "all", "all", "base_3shot")]
    assert (int(written["b"]), int(written["c"])) == (expected["b"], expected["c"])
    assert float(written["difference_ci_low"]) == pytest.approx(expected["difference_ci_low"], abs=1e-6)


def test_test_suite_column_only_when_scored(outputs):
    _, _, markdown = build(outputs)
    assert "Test-suite accuracy (official test-suite databases)" in markdown
    assert "0.662 for Qwen-7B-Chat with QLoRA" in markdown
    # Index 9 has no test-suite score: 9 scored items, and the cell says so.
    suite = summarize_scores([s for s in SPIDER_TEST_SUITE["base_3shot"] if s is not None], ddof=SPIDER_STD_DDOF)
    row = table_row(markdown, "Table I", "tiny-qwen2 (base, 3-shot)")
    assert row[6] == f"{suite['accuracy']:.3f} {cell(suite)} (n=9)"
    # Records of runs without TEST_SUITE_DIR (all null): no column, no note.
    for key in SPIDER_SCORES:
        write_jsonl(outputs / "spider" / f"{key}.jsonl", [{**r, "test_suite_score": None} for r in spider_records(key)])
    _, table, markdown = build(outputs)
    assert "Test-suite accuracy" not in markdown and "0.662" not in markdown
    assert not table.slices("spider_test_suite", "all")
    assert len(table_row(markdown, "Table I", "tiny-qwen2 (base, 3-shot)")) == 8


def test_spider_by_hardness_and_database(outputs):
    _, table, markdown = build(outputs)
    for level_index, level in enumerate(HARDNESS_CYCLE):
        values = [s for i, s in enumerate(SPIDER_SCORES["lora_epoch3"]) if i % 4 == level_index]
        expected = summarize_scores(values, ddof=SPIDER_STD_DDOF)
        # columns: level, base 3-shot, base 0-shot, LoRA epoch 3
        assert (
            table_row(markdown, "Table I-c", level)[3]
            == f"{expected['accuracy']:.3f} {cell(expected)} (n={len(values)})"
        )
    section = markdown.split("Table I-c")[1]
    assert [line.split("|")[1].strip() for line in section.splitlines()[4:8]] == list(HARDNESS_CYCLE)
    values = [s for i, s in enumerate(SPIDER_SCORES["base_0shot"]) if DATABASES[i % 3] == "pets_1"]
    assert table_row(markdown, "Table I-d", "pets_1")[2].endswith(f"(n={len(values)})")
    assert table.get("spider", "base_0shot", "database", "pets_1")["n"] == len(values)
    assert int(csv_rows(outputs)[("spider", "lora_epoch3", "hardness", "extra", "")]["n"]) == 2
    # Gold queries sqlglot cannot read have no level: counted apart, last, not dropped.
    mixed = [{**r, "hardness": None} if r["index"] < 2 else r for r in spider_records("lora_epoch3")]
    write_jsonl(outputs / "spider" / "lora_epoch3.jsonl", mixed)
    _, table, markdown = build(outputs)
    assert table.get("spider", "lora_epoch3", "hardness", "(gold not parsed)")["n"] == 2
    assert table.slices("spider", "hardness") == [*HARDNESS_CYCLE, "(gold not parsed)"]
    assert table_row(markdown, "Table I-c", "(gold not parsed)")[3].endswith("(n=2)")


def test_the_shot_counts_and_sample_sizes_printed_are_the_settings(outputs):
    _, _, markdown = build(outputs, baseline_shots=2, mmlu_shots=5)
    assert "McNemar p vs base 2-shot" in markdown and "Δ accuracy, base 2-shot → LoRA epoch" in markdown
    assert "## MMLU (generalisation, 5-shot)" in markdown and "3-shot" not in markdown and "4-shot" not in markdown
    assert "wrong answers; up to 3 of each kind drawn with seed" in markdown


def test_mmlu_all_questions_and_four_categories(outputs):
    # MMLU_QUESTIONS_PER_SUBJECT = 0 means every test question: without the prepared data no expected n, only the n
    # present ("n="). Four categories of unequal sizes: the micro average and the study's aggregate differ.
    subjects = {"elementary_mathematics": "STEM", "management": "other", "philosophy": "humanities"}
    subjects["sociology"] = "social sciences"
    sizes = (5, 3, 4, 2)
    for key in MMLU_SCORES:
        categories = [category for category, size in zip(subjects.values(), sizes) for _ in range(size)]
        rows = [{"index": i, "category": c, "correct": MMLU_SCORES[key][i]} for i, c in enumerate(categories)]
        write_jsonl(outputs / "mmlu" / f"{key}.jsonl", rows)
    changes = {"mmlu_questions_per_subject": 0, "mmlu_subjects": subjects, "mmlu_prompt_format": "chat"}
    _, table, markdown = build(outputs, **changes)
    base = table.get("mmlu", "base")
    assert base["status"] == "unknown" and base["expected_n"] is None
    row = table_row(markdown, "Table II —", "Base")
    assert row[1] == "n=14" and len(row) == 5 + 4
    assert "| STEM | Ciências Sociais | Humanidades | Outras | McNemar" in markdown
    micro = summarize_scores(MMLU_SCORES["base"][:14], ddof=MMLU_STD_DDOF)
    assert base["accuracy"] == micro["accuracy"] != pytest.approx(table.get("mmlu", "base", "aggregate")["accuracy"])
    assert "Prompt format: **chat**" in markdown and "MMLU_PROMPT_FORMAT = chat" in markdown
    assert not table.slices("mmlu_generation", "all") and "Table II-b" not in markdown and "Table II-d" not in markdown
    # With the prepared questions there (every test question of each subject: 5, 3, 4, 2), their count is the n
    # expected, so a file that stops short reads incomplete instead of ok.
    prepared = outputs / "prepared"
    item = {"question": "q", "choices": ["a", "b", "c", "d"], "answer": 0}
    test = [{**item, "subject": s, "category": c} for (s, c), size in zip(subjects.items(), sizes) for _ in range(size)]
    files.write_json(prepared / "mmlu_test.json", test)
    made_with = {"SEED": 42, "MMLU_SUBJECTS": subjects, "MMLU_SHOTS": 4, "MMLU_QUESTIONS_PER_SUBJECT": 0}
    files.write_json(prepared / "manifest.json", {"settings": made_with})
    _, table, markdown = build(outputs, **changes)
    assert table.get("mmlu", "base")["expected_n"] == 14 and table.get("mmlu", "base")["status"] == "ok"
    assert table_row(markdown, "Table II —", "Base")[1] == "14"
    half = [json.loads(line) for line in (outputs / "mmlu" / "lora_epoch3.jsonl").read_text().splitlines()][:9]
    write_jsonl(outputs / "mmlu" / "lora_epoch3.jsonl", half)
    _, table, markdown = build(outputs, **changes)
    model = table.get("mmlu", "lora_epoch3")
    assert model["status"] == "incomplete" and (model["n"], model["expected_n"]) == (9, 14)
    assert table_row(markdown, "Table II —", "LoRA (3 épocas)")[1] == "9 of 14"
    assert csv_rows(outputs)[("mmlu", "lora_epoch3", "category", "other", "base")]["status"] == "incomplete"
    # Prepared with other settings (here 6 a subject): not this run's questions, so no expected n again, and no
    # claim that the half file is complete.
    files.write_json(prepared / "manifest.json", {"settings": {**made_with, "MMLU_QUESTIONS_PER_SUBJECT": 6}})
    assert build(outputs, **changes)[1].get("mmlu", "lora_epoch3")["status"] == "unknown"


def test_unparseable_generations_counted(outputs):
    _, table, markdown = build(outputs)
    unparseable = sum(1 for index in range(18) if index % 7 == 0)  # indices 0, 7, 14
    assert table.get("mmlu_generation", "base")["unparseable"] == unparseable == 3
    line = next(line for line in markdown.splitlines() if line.startswith("Generations with no parseable answer"))
    assert f"Base {unparseable} of 18" in line
    assert markdown.index("Table II-b") < markdown.index(line) < markdown.index("Table II-c")


def test_training_loss_plot(outputs):
    results, _, markdown = build(outputs)
    assert (outputs / "training_loss.png").read_bytes().startswith(b"\x89PNG")
    assert results["training_loss"] == {"points": 3, "first": [10, 2.5], "last": [30, 1.25]}
    assert "`training_loss.png` — training loss by step (3 logged steps; 2.5000 at step 10, 1.2500 at step 30)" in (
        markdown
    )
    (outputs / "lora" / "loss_log.csv").unlink()
    assert "Training loss: missing (run 1_fine-tuning.py)" in build(outputs)[2]


def test_error_examples_seeded_sample_of_last_epoch(outputs):
    # A last epoch (5) with 7 syntax errors and 1 timeout: 3 syntax examples drawn with the seed, 1 timeout.
    rows = [
        {**r, "score": 0, "reason": f"reason {r['index']}", "error_kind": "syntax" if r["index"] < 7 else "timeout"}
        for r in spider_records("lora_epoch3")[:8]
    ]
    write_jsonl(outputs / "spider" / "lora_epoch5.jsonl", rows)
    first, second = build(outputs)[0]["error_examples"], build(outputs)[0]["error_examples"]
    assert first == second and first["model"] == "lora_epoch5" and first["seed"] == 42
    assert first["kinds"]["syntax"]["count"] == 7 and len(first["kinds"]["syntax"]["examples"]) == 3
    # The draw for seed 42 (random.Random("42-syntax").sample of the 7, shown in index order): not the first three.
    assert [e["index"] for e in first["kinds"]["syntax"]["examples"]] == [0, 3, 5]
    assert [e["index"] for e in first["kinds"]["timeout"]["examples"]] == [7]
    section = build(outputs)[2].split("### Error analysis")[1].split("## MMLU")[0]
    assert "LoRA epoch 5 (the last evaluated epoch): 8 wrong answers" in section
    assert "#### syntax (3 of 7)" in section and "#### timeout (1 of 1)" in section
    # The prediction's backticks and pipe stay inside one code span.
    assert "- Predicted: `` SELECT `name` FROM singers WHERE a \\|\\| b = 7 ``" in section
    assert "- Gold: `SELECT name FROM singer WHERE id = 7`" in section and "- Reason: reason 7" in section
    # Another seed, another sample of the same errors (the lone timeout stays).
    other, _, markdown = build(outputs, seed=7)
    other = other["error_examples"]
    assert other["seed"] == 7 and [e["index"] for e in other["kinds"]["syntax"]["examples"]] == [2, 3, 4]
    assert [e["index"] for e in other["kinds"]["timeout"]["examples"]] == [7] and "drawn with seed 7" in markdown


def test_every_table_has_as_many_header_cells_as_separator_and_row_cells(outputs):
    """With EVAL_EPOCHS empty (the base model only) too: Table III once had 3 header cells and 2 separator cells."""
    for epochs in ((3, 5), ()):
        lines = build(outputs, eval_epochs=epochs)[2].splitlines()
        for number, line in enumerate(lines):
            if line.startswith("|---"):
                width = line.count("|") - 1
                header, rows = lines[number - 1], []
                for row in lines[number + 1 :]:
                    if not row.startswith("|"):
                        break
                    rows.append(row)
                assert header.count("|") - 1 == width, (epochs, header, line)
                assert all(row.count("|") - row.count("\\|") - 1 == width for row in rows), (epochs, header)


def test_changes_never_print_a_negative_zero():
    # An unchanged aggregate, as a mean of category means, can differ from its base by a float residue.
    assert report.fmt_change(-1e-14) == "+0.0%" and report.fmt_change(-14.2857) == "-14.3%"
    assert report.fmt_points(-1e-17) == "+0.0 pts" and report.fmt_points(0.03125) == "+3.1 pts"


def test_a_lowered_evaluation_size_reports_only_the_first_questions(outputs):
    _, table, _ = build(outputs, evaluation_entries_size=4)  # the files keep their 10 (8) records
    for key in ("base_3shot", "base_0shot", "lora_epoch3"):
        expected = summarize_scores(SPIDER_SCORES[key][:4], ddof=SPIDER_STD_DDOF)
        row = table.get("spider", key)
        assert row["status"] == "ok" and {name: row[name] for name in expected} == expected
    assert len((outputs / "spider" / "base_3shot.jsonl").read_text().splitlines()) == 10


def test_a_finished_report_rebuilt_unchanged_writes_nothing(outputs):
    build(outputs)
    stamps = {path: path.stat().st_mtime_ns for path in outputs.iterdir() if path.is_file()}
    build(outputs)
    assert {path: path.stat().st_mtime_ns for path in outputs.iterdir() if path.is_file()} == stamps


def test_only_the_prepared_questions_are_reported(outputs):
    """Records past the prepared sets' ends, left by an earlier larger MMLU sample, are not counted; an evaluation size
    over the prepared dev set's is the whole set, finished."""
    stale = [dict(mmlu_records("lora_epoch5")[0], index=index, correct=1) for index in range(18, 21)]
    for key in MMLU_SCORES:  # all right: counted, they would change every accuracy
        write_jsonl(outputs / "mmlu" / f"{key}.jsonl", mmlu_records(key) + stale)
    prepared = outputs / "prepared"
    prepared.mkdir()
    (prepared / "mmlu_test.json").write_text(json.dumps([{"question": f"q{i}"} for i in range(18)]))
    (prepared / "spider_dev.json").write_text(json.dumps([{"question": f"q{i}"} for i in range(EXPECTED_SPIDER)]))
    _, table, _ = build(outputs, evaluation_entries_size=2000)
    for key, values in MMLU_SCORES.items():
        row = table.get("mmlu", key)
        assert (row["n"], row["correct"], row["status"]) == (18, sum(values), "ok")
    assert (table.get("spider", "base_3shot")["status"], table.get("spider", "base_3shot")["expected_n"]) == ("ok", 10)
    assert table.get("spider", "base_0shot")["status"] == "incomplete"  # 8 of the 10
