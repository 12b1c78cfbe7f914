"""report.py on fixed per-example files in a temporary folder: numbers, missing parts, leakage, consistency."""

import csv
import json

import pytest

import common
import records
import report
from conftest import use_directories
from stats import MMLU_STD_DDOF, SPIDER_STD_DDOF, aggregate_accuracy, mcnemar_exact, summarize_scores

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
# MMLU: per category (STEM, Ciências Sociais, Humanidades order of MMLU_SUBJECTS values) the 0/1 of 6 questions.
MMLU_SCORES = {
    "base": [1, 0, 0, 1, 0, 0] + [0, 1, 0, 0, 0, 1] + [1, 0, 1, 0, 0, 0],
    "lora_epoch3": [1, 1, 0, 1, 0, 1] + [1, 1, 0, 0, 1, 1] + [1, 0, 1, 0, 1, 0],
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
                "gold": "SELECT 1",
                "raw_output": "SELECT 1",
                "prediction": "SELECT 1",
                "score": score,
                "strict_score": SPIDER_STRICT[key][index],
                "reason": "",
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
        records.append(
            {
                "index": index,
                "subject": subject,
                "category": category,
                "answer": 0,
                "letter_logprobs": [-1.0, -2.0, -3.0, -4.0],
                "predicted": 0 if correct else 1,
                "correct": correct,
                "generated_text": "A" if generation else None,
                "generated_choice": 0 if generation else None,
                "generated_correct": generated,
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
    return tmp_path


def write_manifest(outputs, overlap, split):
    records.write_json(
        common.PATHS.training_manifest,
        {
            "train_split": split,
            "train_examples": 7000,
            "overlap_with_evaluated": overlap,
            "evaluated_questions": EXPECTED_SPIDER,
            "dropped_too_long": 2,
            "finished": True,
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
    assert row[6] == f"{test3['p_value']:.4f} (b={test3['b']}, c={test3['c']}, n=10)"
    assert row[7] == f"{test0['p_value']:.4f} (b={test0['b']}, c={test0['c']}, n=8)"
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
        for column, category in enumerate(categories, start=3):
            start = order.index(category) * PER_SUBJECT
            expected = summarize_scores(MMLU_SCORES[key][start : start + PER_SUBJECT], ddof=MMLU_STD_DDOF)
            per_category[category] = expected["accuracy"]
            assert row[column] == (
                f"{expected['accuracy']:.3f} ± {expected['std']:.3f} "
                f"[{expected['ci_low']:.3f}, {expected['ci_high']:.3f}]"
            )
        aggregate = aggregate_accuracy(per_category.values())
        assert row[2] == f"{aggregate['accuracy']:.3f} ± {aggregate['std']:.3f}"
        accuracies[key] = per_category
        if key != "base":
            test = mcnemar_exact(MMLU_SCORES["base"], MMLU_SCORES[key])
            assert row[6].startswith(f"{test['p_value']:.4f} (b={test['b']}, c={test['c']}")
            reading = results["mmlu_readings"][key]
            assert reading["significant"] == (test["p_value"] < 0.05)
            assert ("not supported" in reading["text"]) == (test["p_value"] >= 0.05)
    # Table III: every epoch, percent change from the base.
    for category in categories:
        row = table_row(markdown, "Table III", category)
        base = accuracies["base"][category]
        assert row[1] == f"{base:.3f}"
        for offset, key in ((2, "lora_epoch3"), (4, "lora_epoch5")):
            new = accuracies[key][category]
            assert row[offset] == f"{new:.3f}"
            assert row[offset + 1] == f"{(new - base) / base * 100:+.1f}%"
    # The generation-based score gets its own table, computed from generated_correct.
    assert "Table II-b" in markdown
    generated = [r["generated_correct"] for r in mmlu_records("lora_epoch5", True)]
    assert results["mmlu"]["generation"]["lora_epoch5"]["pooled"]["correct"] == sum(generated)
    # Significant and not-significant readings both appear in this fixture.
    texts = [r["text"] for r in results["mmlu_readings"].values()]
    assert any("is supported" in t for t in texts) and any("not supported" in t for t in texts)


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
