"""report.py on fixed per-example files in a temporary folder: numbers, missing parts, leakage, consistency."""

import csv
import json

import pytest

import common
import mmlu
import records
import report
import report_markdown
from conftest import use_directories
from stats import (
    MMLU_STD_DDOF,
    SPIDER_STD_DDOF,
    aggregate_accuracy,
    mcnemar_exact,
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
ERROR_CYCLE = ("syntax", "wrong_result", "unknown_table_or_column", "timeout", None, "weird_new_kind")
HARDNESS_CYCLE = ("easy", "medium", "hard", "extra")
# The official test-suite score where it was computed (TEST_SUITE_DIR set): the strict score here, null for index 9.
SPIDER_TEST_SUITE = {key: [s if i != 9 else None for i, s in enumerate(v)] for key, v in SPIDER_STRICT.items()}
LOSS_LOG = (
    "step,epoch,loss,learning_rate,grad_norm\n10,0.5,2.5,0.0002,1.1\n20,1.0,1.75,0.00018,0.9\n30,1.5,1.25,0.00016,\n"
)
# MMLU: per category (STEM, Ciências Sociais, Humanidades order of MMLU_SUBJECTS values) the 0/1 of 6 questions.
MMLU_SCORES = {
    "base": [1, 0, 0, 1, 0, 0] + [0, 1, 0, 0, 0, 1] + [1, 0, 1, 0, 0, 0],
    "lora_epoch3": [1, 1, 0, 1, 0, 0] + [0, 1, 0, 0, 1, 1] + [1, 0, 0, 0, 0, 0],
    "lora_epoch5": [1, 1, 1, 1, 1, 1] + [1, 1, 1, 1, 1, 1] + [1, 1, 1, 1, 1, 0],
}


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def spider_records(key):
    records = []
    for index, score in enumerate(SPIDER_SCORES[key]):
        kind = None if score else ERROR_CYCLE[index % len(ERROR_CYCLE)]
        records.append(
            {
                "index": index,
                "db_id": DATABASES[index % 3],
                "question": f"q{index}",
                "gold": f"SELECT name FROM singer WHERE id = {index}",
                "raw_output": "SELECT 1",
                # A backtick-quoted identifier and a pipe: the error examples must still render as one code span.
                "prediction": f"SELECT `name` FROM singers WHERE a || b = {index}",
                "score": score,
                "strict_score": SPIDER_STRICT[key][index],
                "test_suite_score": SPIDER_TEST_SUITE[key][index],
                "hardness": HARDNESS_CYCLE[index % 4],
                "reason": "" if score else f"reason {index}",
                "error_kind": kind,
            }
        )
    return records


def mmlu_records(key, generation):
    subjects = list(common.MMLU_SUBJECTS.items())
    records = []
    for index, correct in enumerate(MMLU_SCORES[key]):
        subject, category = subjects[index // PER_SUBJECT]
        generated = (correct if index % 3 else 1 - correct) if generation else None
        # Every seventh generation gave no answer letter: scored wrong, and counted under Table II-b.
        unparseable = generation and index % 7 == 0
        records.append(
            {
                "index": index,
                "subject": subject,
                "category": category,
                "answer": 0,
                "letter_logprobs": [-1.0, -2.0, -3.0, -4.0],
                "predicted": 0 if correct else 1,
                "correct": correct,
                "generated_text": ("I am not sure" if unparseable else "A") if generation else None,
                "generated_choice": None if unparseable or not generation else 0,
                "generated_correct": 0 if unparseable else generated,
            }
        )
    return records


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """Point every output path of common at tmp_path and write the fixed result files."""
    monkeypatch.setattr(common, "PROFILE", "demo")
    monkeypatch.setattr(common, "EVAL_EPOCHS", (3, 5))
    monkeypatch.setattr(common, "EVALUATION_ENTRIES_SIZE", EXPECTED_SPIDER)
    monkeypatch.setattr(common, "MMLU_QUESTIONS_PER_SUBJECT", PER_SUBJECT)
    monkeypatch.setattr(
        common,
        "MMLU_SUBJECTS",
        {"elementary_mathematics": "STEM", "management": "Ciências Sociais", "philosophy": "Humanidades"},
    )
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path)
    for key in SPIDER_SCORES:
        write_jsonl(tmp_path / "spider" / f"{key}.jsonl", spider_records(key))
    for key in MMLU_SCORES:
        write_jsonl(tmp_path / "mmlu" / f"{key}.jsonl", mmlu_records(key, generation=True))
    common.PATHS.loss_log.parent.mkdir(parents=True, exist_ok=True)
    common.PATHS.loss_log.write_text(LOSS_LOG, encoding="utf-8")
    return tmp_path


def write_manifest(outputs, overlap, split):
    records.write_json(
        common.PATHS.training_manifest,
        {
            "config": {"TRAIN_SPLIT": split},
            "train_examples": 7000,
            "overlap_with_evaluated": overlap,
            "evaluated_questions": EXPECTED_SPIDER,
            "dropped_too_long": 2,
            "finished": True,
            "epochs": {"3": "checkpoint-3", "5": "checkpoint-5"},
        },
    )


def table_row(markdown, title, label):
    """Cells of the first row starting with `label` in the table that follows the heading containing `title`."""
    section = markdown[markdown.index(title) :]
    for line in section.splitlines():
        if line.startswith(f"| {label} |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise AssertionError(f"no row {label!r} after {title!r}")


def test_spider_table_matches_records(outputs):
    write_manifest(outputs, overlap=0, split="train")
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    name = "tiny-qwen2"
    labels = {
        "base_3shot": f"{name} (base, 3-shot)",
        "base_0shot": f"{name} (base, 0-shot)",
        "lora_epoch3": f"{name}-LoRA | 3",
    }
    for key, label in labels.items():
        expected = summarize_scores(SPIDER_SCORES[key], ddof=SPIDER_STD_DDOF)
        strict = summarize_scores(SPIDER_STRICT[key], ddof=SPIDER_STD_DDOF)
        row = table_row(markdown, "Table I", label)
        assert row[2].startswith(f"{expected['accuracy']:.3f}")
        assert row[3] == f"{expected['std']:.3f}"
        assert row[4] == f"[{expected['ci_low']:.3f}, {expected['ci_high']:.3f}]"
        assert row[5].startswith(f"{strict['accuracy']:.3f}")
        assert results["spider"]["models"][key]["summary"] == expected
    # The incomplete run says so; the complete ones don't.
    assert "(n=8 of 10)" in table_row(markdown, "Table I", labels["base_0shot"])[2]
    assert "of 10" not in table_row(markdown, "Table I", labels["base_3shot"])[2]
    assert results["spider"]["models"]["base_0shot"]["status"] == "incomplete"
    # McNemar vs base 3-shot on all 10 items; vs base 0-shot on the 8 shared indices only.
    test3 = mcnemar_exact(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    test0 = mcnemar_exact(SPIDER_SCORES["base_0shot"], SPIDER_SCORES["lora_epoch3"][:8])
    row = table_row(markdown, "Table I", labels["lora_epoch3"])
    assert row[7] == f"{test3['p_value']:.4f} (b={test3['b']}, c={test3['c']}, n=10)"
    assert row[8] == f"{test0['p_value']:.4f} (b={test0['b']}, c={test0['c']}, n=8)"
    # Error breakdown: unknown and null kinds of wrong answers count as "other".
    errors = results["spider"]["models"]["base_3shot"]["errors"]
    wrong = [i for i, s in enumerate(SPIDER_SCORES["base_3shot"]) if not s]
    kinds = [ERROR_CYCLE[i % len(ERROR_CYCLE)] for i in wrong]
    assert errors["syntax"] == kinds.count("syntax")
    assert errors["other"] == kinds.count(None) + kinds.count("weird_new_kind")
    assert sum(errors.values()) == len(wrong)
    # Databases listed, and the study's delta line (base 3-shot -> last epoch, which is missing here).
    assert "cover 3 database(s): car_1, concert_singer, pets_1" in markdown
    assert "1034 questions, 20 databases" in markdown and "tiny local model" in markdown
    assert results["spider"]["delta_last_epoch"]["percent"] is None


def test_study_delta_in_percent_and_in_points(outputs, monkeypatch):
    monkeypatch.setattr(common, "EVAL_EPOCHS", (3,))
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    accuracy = {key: summarize_scores(SPIDER_SCORES[key], ddof=1)["accuracy"] for key in SPIDER_SCORES}
    delta = results["spider"]["delta_last_epoch"]
    assert delta["to"] == "lora_epoch3"
    assert delta["points"] == pytest.approx(accuracy["lora_epoch3"] - accuracy["base_3shot"])
    assert delta["percent"] == pytest.approx(100 * delta["points"] / accuracy["base_3shot"])
    line = next(line for line in markdown.splitlines() if line.startswith("Δ accuracy, base 3-shot"))
    assert f"{delta['percent']:+.1f}% ({100 * delta['points']:+.1f} pts)" in line
    # Beside each signed change, the reading of its paired test (Table I-b): vs base 3-shot b = 0, c = 4 of 10,
    # an interval above 0; vs base 0-shot b = 0, c = 5 of the 8 shared questions.
    test = paired_comparison(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    test0 = paired_comparison(SPIDER_SCORES["base_0shot"], SPIDER_SCORES["lora_epoch3"][:8])
    assert (test["b"], test["c"], test0["b"], test0["c"]) == (0, 4, 0, 5) and test["ci_low"] > 0
    assert delta["reading"] == report.difference_reading(test) == "higher than base"
    assert delta["reading_from_base_0shot"] == report.difference_reading(test0)
    assert f"({100 * delta['points']:+.1f} pts): higher than base; base 0-shot" in line
    assert f"({100 * delta['points_from_base_0shot']:+.1f} pts): {delta['reading_from_base_0shot']}. " in line
    # Without the last epoch's file there is no test and no reading, only the change.
    (outputs / "spider" / "lora_epoch3.jsonl").unlink()
    results = report.build_report()
    line = next(line for line in common.PATHS.report.read_text().splitlines() if line.startswith("Δ accuracy"))
    assert results["spider"]["delta_last_epoch"]["reading"] is None and "higher" not in line and "— (—); base" in line


def test_missing_model_is_marked_missing_not_zero(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    row = table_row(markdown, "Table I", "tiny-qwen2-LoRA | 5")
    assert row[2] == "missing (run 3_avaliacao_customizada.py)"
    assert "0.000" not in " ".join(row)
    model = results["spider"]["models"]["lora_epoch5"]
    assert model["status"] == "missing" and "summary" not in model
    rows = list(csv.DictReader(common.PATHS.results_csv.open(encoding="utf-8")))
    missing = [r for r in rows if r["model"] == "lora_epoch5" and r["benchmark"] == "spider"]
    assert missing and missing[0]["status"] == "missing" and missing[0]["accuracy"] == "" and missing[0]["n"] == ""
    # Without a manifest the report says so and names the configured split.
    assert "manifest missing (run 1_fine-tuning.py)" in markdown
    # Delete the MMLU base file too: Table II and III mark it missing, the readings give no test.
    (outputs / "mmlu" / "base.jsonl").unlink()
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    assert table_row(markdown, "Table II", "Base")[1] == "missing (run 4_analise_mmlu.py)"
    assert table_row(markdown, "Table III", "STEM")[1] == "—"
    assert all(reading is None for reading in results["mmlu_readings"].values())


def test_mmlu_tables_match_records(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    categories = ["STEM", "Ciências Sociais", "Humanidades"]
    order = list(common.MMLU_SUBJECTS.values())
    accuracies = {}
    for key, label in (("base", "Base"), ("lora_epoch3", "LoRA (3 épocas)"), ("lora_epoch5", "LoRA (5 épocas)")):
        row = table_row(markdown, "Table II —", label)
        assert row[1] == str(3 * PER_SUBJECT)
        per_category = {}
        for column, category in enumerate(categories, start=4):
            start = order.index(category) * PER_SUBJECT
            expected = summarize_scores(MMLU_SCORES[key][start : start + PER_SUBJECT], ddof=MMLU_STD_DDOF)
            per_category[category] = expected["accuracy"]
            assert row[column] == (
                f"{expected['accuracy']:.3f} ± {expected['std']:.3f} "
                f"[{expected['ci_low']:.3f}, {expected['ci_high']:.3f}]"
            )
        aggregate = aggregate_accuracy(per_category.values())
        assert row[2] == f"{aggregate['accuracy']:.3f} ± {aggregate['std']:.3f}"
        # The micro average over all questions, with its own interval, beside the study's aggregate.
        micro = summarize_scores(MMLU_SCORES[key], ddof=MMLU_STD_DDOF)
        assert row[3] == f"{micro['accuracy']:.3f} [{micro['ci_low']:.3f}, {micro['ci_high']:.3f}]"
        accuracies[key] = per_category
        if key != "base":
            test = mcnemar_exact(MMLU_SCORES["base"], MMLU_SCORES[key])
            assert row[7].startswith(f"{test['p_value']:.4f} (b={test['b']}, c={test['c']}")
            reading = results["mmlu_readings"][key]
            assert reading["significant"] == (test["p_value"] < 0.05)
    # Table III: every epoch, percent change from the base.
    for category in categories:
        row = table_row(markdown, "Table III", category)
        base = accuracies["base"][category]
        assert row[1] == f"{base:.3f}"
        start = order.index(category) * PER_SUBJECT
        for offset, key in ((2, "lora_epoch3"), (5, "lora_epoch5")):
            new = accuracies[key][category]
            assert row[offset] == f"{new:.3f}"
            assert row[offset + 1] == f"{(new - base) / base * 100:+.1f}%"
            # Beside each signed change, the reading of the category's paired test.
            test = paired_comparison(
                MMLU_SCORES["base"][start : start + PER_SUBJECT], MMLU_SCORES[key][start : start + PER_SUBJECT]
            )
            assert row[offset + 2] == report.difference_reading(test)
    # The aggregate's reading is that of all questions: no direction for epoch 3, higher for epoch 5.
    row = table_row(markdown, "Table III", "Agregada")
    assert row[4] == "not distinguishable from no change at this sample size" and row[7] == "higher than base"
    assert "Reading (paired, epoch 3)" in markdown
    # The generation-based score gets its own table, computed from generated_correct.
    assert "Table II-b" in markdown
    generated = [r["generated_correct"] for r in mmlu_records("lora_epoch5", True)]
    assert results["mmlu"]["generation"]["lora_epoch5"]["pooled"]["correct"] == sum(generated)
    # Both kinds of reading appear in this fixture: a direction only where the interval excludes zero.
    texts = {key: r["text"] for key, r in results["mmlu_readings"].items()}
    assert "not distinguishable from no change at this sample size" in texts["lora_epoch3"]
    assert "higher than base" in texts["lora_epoch5"]


@pytest.mark.parametrize("overlap,split", [(0, "train"), (10, "dev")])
def test_leakage_warning_iff_overlap(outputs, overlap, split):
    write_manifest(outputs, overlap=overlap, split=split)
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    stored = json.loads(common.PATHS.results_json.read_text(encoding="utf-8"))
    assert f"train split **{split}**" in markdown and stored["train_split"] == split
    warning = (
        "LEAKAGE: 10 of the 10 evaluated Spider questions were in the training data (TRAIN_SPLIT=dev); "
        "these Spider numbers measure memorisation, not generalisation."
    )
    if overlap:
        assert warning in markdown and stored["leakage"]["warning"] == warning
    else:
        assert "LEAKAGE" not in markdown and stored["leakage"]["warning"] is None
    assert results["leakage"]["overlap_with_evaluated"] == overlap


def test_json_csv_markdown_consistent_and_plot_written(outputs):
    results = report.build_report()
    stored = json.loads(common.PATHS.results_json.read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(results))
    rows = list(csv.DictReader(common.PATHS.results_csv.open(encoding="utf-8")))
    by_key = {(r["benchmark"], r["model"], r["category"]): r for r in rows}
    for key, model in stored["spider"]["models"].items():
        if model["status"] == "missing":
            continue
        row = by_key[("spider", key, "all")]
        assert int(row["n"]) == model["summary"]["n"]
        assert float(row["accuracy"]) == pytest.approx(model["summary"]["accuracy"], abs=1e-6)
        assert float(row["ci_low"]) == pytest.approx(model["summary"]["ci_low"], abs=1e-6)
    assert float(by_key[("spider", "lora_epoch3", "all")]["p_value"]) == pytest.approx(
        stored["spider"]["models"]["lora_epoch3"]["mcnemar_vs_base_0shot"]["p_value"], abs=1e-6
    )
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    for key, model in stored["mmlu"]["models"].items():
        aggregate = by_key[("mmlu", key, "aggregate")]
        assert float(aggregate["accuracy"]) == pytest.approx(model["aggregate"]["accuracy"], abs=1e-6)
        assert f"{float(aggregate['accuracy']):.3f} ± {float(aggregate['std']):.3f}" in markdown
        for category, summary in model["categories"].items():
            row = by_key[("mmlu", key, category)]
            assert float(row["std"]) == pytest.approx(summary["std"], abs=1e-6)
            assert f"{float(row['accuracy']):.3f} ± {float(row['std']):.3f}" in markdown
    png = common.PATHS.tradeoff_plot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert not [p for p in outputs.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_report_with_no_results_at_all(tmp_path, monkeypatch):
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path)
    results = report.build_report()
    assert all(m["status"] == "missing" for m in results["spider"]["models"].values())
    assert all(m["status"] == "missing" for m in results["mmlu"]["models"].values())
    assert results["mmlu"]["generation"] is None
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    # Every new section is there, empty and saying why.
    assert "Training loss: missing (run 1_fine-tuning.py)" in markdown
    assert "No fine-tuned model's Spider results yet" in markdown
    assert "## How many questions would be needed" in markdown


def test_paired_comparisons_power_and_readings(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    # Spider, LoRA epoch 3 vs base 3-shot on all 10 questions: b, c, Newcombe interval, rate, detectable.
    expected = paired_comparison(SPIDER_SCORES["base_3shot"], SPIDER_SCORES["lora_epoch3"])
    row = table_row(markdown, "Table I-b", "LoRA epoch 3 | base_3shot")
    assert row[2:5] == ["10", str(expected["b"]), str(expected["c"])]
    assert row[5] == f"{expected['difference']:+.3f} [{expected['ci_low']:+.3f}, {expected['ci_high']:+.3f}]"
    assert row[7] == f"{(expected['b'] + expected['c']) / 10:.3f} (observed)"
    # n = 10 is too few for 80% power at any difference the observed discordance allows.
    assert expected["minimum_detectable_difference"] is None and row[8] == "not reachable"
    assert table_row(markdown, "Table I-b", "LoRA epoch 5 | base_0shot")[2] == "missing"
    # MMLU, LoRA epoch 3 (b = 1, c = 2 of 18): the interval includes 0, so no direction is read into it.
    mmlu = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES["lora_epoch3"])
    assert (mmlu["b"], mmlu["c"]) == (1, 2) and mmlu["ci_low"] < 0 < mmlu["ci_high"]
    row = table_row(markdown, "Table II-c", "LoRA epoch 3 | all")
    assert row[-1] == "not distinguishable from no change at this sample size"
    # LoRA epoch 5 (c = 11 of 18, b = 0): distinguishable, and its detectable difference is the exact one.
    mmlu5 = paired_comparison(MMLU_SCORES["base"], MMLU_SCORES["lora_epoch5"])
    row = table_row(markdown, "Table II-c", "LoRA epoch 5 | all")
    assert row[-1] == "higher than base"
    assert row[8] == f"{100 * minimum_detectable_difference(18, mmlu5['p_discordant']):.1f} pts"
    # Per category too: one row per category after "all".
    section = markdown.split("Table II-c")[1].split("Table II-d")[0]
    stem = [line for line in section.splitlines() if line.startswith("| LoRA epoch 5 | STEM |")]
    assert len(stem) == 1 and "| 6 |" in stem[0]
    # The generation score (Table II-b) gets the same paired columns, from generated_correct.
    generated = {key: [r["generated_correct"] for r in mmlu_records(key, True)] for key in MMLU_SCORES}
    for epoch in (3, 5):
        test = paired_comparison(generated["base"], generated[f"lora_epoch{epoch}"])
        row = table_row(markdown, "Table II-d", f"LoRA epoch {epoch} | all")
        assert row[2:5] == ["18", str(test["b"]), str(test["c"])]
        assert row[5] == f"{test['difference']:+.3f} [{test['ci_low']:+.3f}, {test['ci_high']:+.3f}]"
        assert row[6] == f"{test['p_value']:.4f}" and row[-1] == report.difference_reading(test)
        detectable = test["minimum_detectable_difference"]
        assert row[8] == ("not reachable" if detectable is None else f"{100 * detectable:.1f} pts")
        assert len([line for line in markdown.split("Table II-d")[1].splitlines() if "| STEM |" in line]) >= 1
    assert table_row(markdown, "How many questions would be needed", "MMLU (generation) | LoRA epoch 5 vs base")
    assert "Newcombe" in markdown and "80% power" in markdown
    # How many questions: n for 1, 2, 5, 10 points at the observed rate, exactly sample_size_for.
    row = table_row(markdown, "How many questions would be needed", "MMLU | LoRA epoch 5 vs base")
    rate = mmlu5["p_discordant"]
    assert row[3] == f"{rate:.3f} (observed)"
    assert row[4:] == [str(sample_size_for(points / 100, rate)) for points in (1, 2, 5, 10)]
    stored = {(r["benchmark"], r["comparison"]): r for r in results["sample_sizes"]}
    assert stored[("MMLU", "LoRA epoch 5 vs base")]["n_needed"]["10"] == sample_size_for(0.10, rate)
    # The CSV carries the paired columns.
    rows = {(r["benchmark"], r["model"], r["category"]): r for r in csv.DictReader(common.PATHS.results_csv.open())}
    csv_row = rows[("spider_vs_base_3shot", "lora_epoch3", "all")]
    assert (int(csv_row["b"]), int(csv_row["c"])) == (expected["b"], expected["c"])
    assert float(csv_row["difference_ci_low"]) == pytest.approx(expected["ci_low"], abs=1e-6)


def test_test_suite_column_only_when_scored(outputs):
    report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    assert "Test-suite accuracy (official test-suite databases)" in markdown
    assert "0.662 for Qwen-7B-Chat with QLoRA" in markdown
    # Index 9 has no test-suite score: 9 scored items, and the cell says so.
    suite = summarize_scores([s for s in SPIDER_TEST_SUITE["base_3shot"] if s is not None], ddof=SPIDER_STD_DDOF)
    row = table_row(markdown, "Table I", "tiny-qwen2 (base, 3-shot)")
    assert row[6] == f"{suite['accuracy']:.3f} [{suite['ci_low']:.3f}, {suite['ci_high']:.3f}] (n=9)"
    # Records of runs without TEST_SUITE_DIR (all null): no column, no note.
    for key in SPIDER_SCORES:
        rewritten = [{**r, "test_suite_score": None} for r in spider_records(key)]
        write_jsonl(outputs / "spider" / f"{key}.jsonl", rewritten)
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    assert "Test-suite accuracy" not in markdown and not results["spider"]["has_test_suite"]
    assert len(table_row(markdown, "Table I", "tiny-qwen2 (base, 3-shot)")) == 8


def test_spider_by_hardness_and_database(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    for level_index, level in enumerate(HARDNESS_CYCLE):
        values = [s for i, s in enumerate(SPIDER_SCORES["lora_epoch3"]) if i % 4 == level_index]
        expected = summarize_scores(values, ddof=SPIDER_STD_DDOF)
        row = table_row(markdown, "Table I-c", level)
        cell = f"{expected['accuracy']:.3f} [{expected['ci_low']:.3f}, {expected['ci_high']:.3f}] (n={len(values)})"
        assert row[3] == cell  # columns: level, base 3-shot, base 0-shot, LoRA epoch 3
        assert results["spider"]["models"]["lora_epoch3"]["by_hardness"][level] == expected
    assert [line.split("|")[1].strip() for line in markdown.split("Table I-c")[1].splitlines()[4:8]] == list(
        HARDNESS_CYCLE
    )
    values = [s for i, s in enumerate(SPIDER_SCORES["base_0shot"]) if DATABASES[i % 3] == "pets_1"]
    expected = summarize_scores(values, ddof=SPIDER_STD_DDOF)
    assert table_row(markdown, "Table I-d", "pets_1")[2].endswith(f"(n={len(values)})")
    rows = {(r["benchmark"], r["model"], r["category"]): r for r in csv.DictReader(common.PATHS.results_csv.open())}
    assert int(rows[("spider_by_database", "base_0shot", "pets_1")]["n"]) == len(values)
    assert int(rows[("spider_by_hardness", "lora_epoch3", "extra")]["n"]) == 2
    # Records made before hardness was recorded: the table says so instead of failing.
    for key in SPIDER_SCORES:
        write_jsonl(outputs / "spider" / f"{key}.jsonl", [{**r, "hardness": None} for r in spider_records(key)])
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    assert "these records carry no hardness level" in markdown and not results["spider"]["has_hardness"]
    # A file resumed across the change: the records without a level are counted apart, not dropped.
    mixed = [{**r, "hardness": None} if r["index"] < 2 else r for r in spider_records("lora_epoch3")]
    write_jsonl(outputs / "spider" / "lora_epoch3.jsonl", mixed)
    results = report.build_report()
    assert results["spider"]["models"]["lora_epoch3"]["by_hardness"]["(no hardness)"]["n"] == 2


def test_mmlu_all_questions_and_four_categories(outputs, monkeypatch):
    # MMLU_QUESTIONS_PER_SUBJECT = 0 means every test question: without the prepared data no expected n, only the n
    # present ("n=").
    monkeypatch.setattr(common, "MMLU_QUESTIONS_PER_SUBJECT", 0)
    monkeypatch.setattr(common, "MMLU_PROMPT_FORMAT", "plain", raising=False)
    subjects = {
        "elementary_mathematics": "STEM",
        "management": "other",
        "philosophy": "humanities",
        "sociology": "social sciences",
    }
    monkeypatch.setattr(common, "MMLU_SUBJECTS", subjects)
    items = list(subjects.items())
    sizes = (5, 3, 4, 2)  # unequal categories: micro average and the study's aggregate differ
    for key in MMLU_SCORES:
        rows = []
        for subject_index, size in enumerate(sizes):
            for _ in range(size):
                index = len(rows)
                correct = int(MMLU_SCORES[key][index])
                rows.append(
                    {
                        "index": index,
                        "subject": items[subject_index][0],
                        "category": items[subject_index][1],
                        "correct": correct,
                        "generated_text": None,
                        "generated_choice": None,
                        "generated_correct": None,
                    }
                )
        write_jsonl(outputs / "mmlu" / f"{key}.jsonl", rows)
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    base = results["mmlu"]["models"]["base"]
    assert base["status"] == "ok" and base["expected_n"] is None and results["mmlu"]["expected_n"] is None
    row = table_row(markdown, "Table II —", "Base")
    assert row[1] == "n=14" and len(row) == 5 + 4
    assert results["mmlu"]["categories"] == ["STEM", "other", "humanities", "social sciences"]
    micro = summarize_scores(MMLU_SCORES["base"][:14], ddof=MMLU_STD_DDOF)
    assert base["pooled"] == micro and base["aggregate"]["accuracy"] != pytest.approx(micro["accuracy"])
    assert "Prompt format: **plain**" in markdown and "MMLU_PROMPT_FORMAT = plain" in markdown
    assert results["mmlu"]["generation"] is None and "Table II-b" not in markdown
    # With the prepared questions there (every test question of each subject: 5, 3, 4, 2), their count is the n
    # expected, so a file that stops short reads incomplete instead of ok.
    write_prepared_mmlu(subjects, sizes)
    results = report.build_report()
    assert results["mmlu"]["expected_n"] == 14 and results["mmlu"]["models"]["base"]["status"] == "ok"
    assert table_row(common.PATHS.report.read_text(encoding="utf-8"), "Table II —", "Base")[1] == "14"
    half = [json.loads(line) for line in (outputs / "mmlu" / "lora_epoch3.jsonl").read_text().splitlines()][:9]
    write_jsonl(outputs / "mmlu" / "lora_epoch3.jsonl", half)
    results = report.build_report()
    model = results["mmlu"]["models"]["lora_epoch3"]
    assert model["status"] == "incomplete" and (model["n"], model["expected_n"]) == (9, 14)
    assert table_row(common.PATHS.report.read_text(encoding="utf-8"), "Table II —", "LoRA (3 épocas)")[1] == "9 of 14"
    rows = {(r["benchmark"], r["model"], r["category"]): r for r in csv.DictReader(common.PATHS.results_csv.open())}
    assert rows[("mmlu", "lora_epoch3", "micro_average")]["status"] == "incomplete"
    # Prepared with other settings (here 6 a subject): not this run's questions, so no expected n again.
    records.write_json(
        common.PATHS.prepared_manifest, {"settings": {**mmlu.preparation_settings(), "MMLU_QUESTIONS_PER_SUBJECT": 6}}
    )
    assert report.build_report()["mmlu"]["models"]["lora_epoch3"]["status"] == "ok"


def write_prepared_mmlu(subjects, sizes):
    """The prepared MMLU files script 0 writes (test questions with their category, 4 dev shots a subject, the
    manifest's settings) for these subjects and per-subject sizes."""
    item = {"question": "q", "choices": ["a", "b", "c", "d"], "answer": 0}
    test = [
        {**item, "subject": subject, "category": category}
        for (subject, category), size in zip(subjects.items(), sizes)
        for _ in range(size)
    ]
    dev = {subject: [{**item, "subject": subject, "category": category}] * 4 for subject, category in subjects.items()}
    records.write_json(common.PATHS.mmlu_test, test)
    records.write_json(common.PATHS.mmlu_dev, dev)
    records.write_json(common.PATHS.prepared_manifest, {"settings": mmlu.preparation_settings()})


def test_unparseable_generations_counted(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    unparseable = sum(1 for index in range(18) if index % 7 == 0)  # indices 0, 7, 14
    assert results["mmlu"]["unparseable_generations"]["base"] == {"unparseable": unparseable, "generated": 18}
    line = next(line for line in markdown.splitlines() if line.startswith("Generations with no parseable answer"))
    assert f"Base {unparseable} of 18" in line
    assert markdown.index("Table II-b") < markdown.index(line) < markdown.index("Table II-c")


def test_training_loss_plot(outputs):
    results = report.build_report()
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    plot = outputs / "training_loss.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert results["training_loss"]["points"] == 3 and results["training_loss"]["last"] == [30, 1.25]
    assert "`training_loss.png` — training loss by step (3 logged steps; 2.5000 at step 10, 1.2500 at step 30)" in (
        markdown
    )
    common.PATHS.loss_log.unlink()
    report.build_report()
    assert "Training loss: missing (run 1_fine-tuning.py)" in common.PATHS.report.read_text(encoding="utf-8")


def test_error_examples_seeded_sample_of_last_epoch(outputs, monkeypatch):
    # A last epoch (5) with 7 syntax errors and 1 timeout: 3 syntax examples drawn with the seed, 1 timeout.
    rows = [
        {**r, "score": 0, "reason": f"reason {r['index']}", "error_kind": "syntax" if r["index"] < 7 else "timeout"}
        for r in spider_records("lora_epoch3")[:8]
    ]
    write_jsonl(outputs / "spider" / "lora_epoch5.jsonl", rows)
    first = report.build_report()["spider"]["error_examples"]
    second = report.build_report()["spider"]["error_examples"]
    assert first == second and first["model"] == "lora_epoch5" and first["seed"] == common.SEED
    assert first["kinds"]["syntax"]["count"] == 7 and len(first["kinds"]["syntax"]["examples"]) == 3
    # The draw for seed 42 (random.Random("42-syntax").sample of the 7, shown in index order): not the first three.
    assert common.SEED == 42 and [e["index"] for e in first["kinds"]["syntax"]["examples"]] == [0, 3, 5]
    assert [e["index"] for e in first["kinds"]["timeout"]["examples"]] == [7]
    markdown = common.PATHS.report.read_text(encoding="utf-8")
    section = markdown.split("### Error analysis")[1].split("## MMLU")[0]
    assert "LoRA epoch 5 (the last evaluated epoch): 8 wrong answers" in section
    assert "#### syntax (3 of 7)" in section and "#### timeout (1 of 1)" in section
    # The prediction's backticks and pipe stay inside one code span.
    assert "- Predicted: `` SELECT `name` FROM singers WHERE a \\|\\| b = 7 ``" in section
    assert "- Gold: `SELECT name FROM singer WHERE id = 7`" in section and "- Reason: reason 7" in section
    # Another seed, another sample of the same errors (the lone timeout stays).
    monkeypatch.setattr(common, "SEED", 7)
    other = report.build_report()["spider"]["error_examples"]
    assert other["seed"] == 7 and [e["index"] for e in other["kinds"]["syntax"]["examples"]] == [2, 3, 4]
    assert [e["index"] for e in other["kinds"]["timeout"]["examples"]] == [7]
    assert "drawn with seed 7" in common.PATHS.report.read_text(encoding="utf-8")


def test_every_table_has_as_many_header_cells_as_separator_and_row_cells(outputs, monkeypatch):
    """With EVAL_EPOCHS empty (the base model only) too: Table III once had 3 header cells and 2 separator cells."""
    for epochs in ((3, 5), ()):
        monkeypatch.setattr(common, "EVAL_EPOCHS", epochs)
        report.build_report()
        lines = common.PATHS.report.read_text(encoding="utf-8").splitlines()
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
    assert report_markdown.fmt_change(-1e-14) == "+0.0%" and report_markdown.fmt_change(-14.2857) == "-14.3%"
    assert (
        report_markdown.fmt_signed_points(-1e-17) == "+0.0 pts"
        and report_markdown.fmt_signed_points(0.03125) == "+3.1 pts"
    )


def test_a_lowered_evaluation_size_reports_only_the_first_questions(outputs, monkeypatch):
    monkeypatch.setattr(common, "EVALUATION_ENTRIES_SIZE", 4)  # the files keep their 10 (8) records
    spider = report.build_report()["spider"]["models"]
    for key in ("base_3shot", "base_0shot", "lora_epoch3"):
        expected = summarize_scores(SPIDER_SCORES[key][:4], ddof=SPIDER_STD_DDOF)
        assert spider[key]["status"] == "ok" and spider[key]["summary"] == expected
    assert len((outputs / "spider" / "base_3shot.jsonl").read_text().splitlines()) == 10


def test_a_finished_report_rebuilt_unchanged_writes_nothing(outputs):
    report.build_report()
    stamps = {path: path.stat().st_mtime_ns for path in outputs.iterdir() if path.is_file()}
    report.build_report()
    assert {path: path.stat().st_mtime_ns for path in outputs.iterdir() if path.is_file()} == stamps
