"""The final report: the study's Tables I-III recomputed from the per-example result files, plus what it lacked.

Every number comes from the per-example JSONL files (never from a summary), so a half-finished run reports what it
has, labelled with its n. A part whose file is missing is written "missing (run X)", never as a zero.
Writes REPORT_FILE (markdown, rendered by report_markdown.py), RESULTS_JSON, RESULTS_CSV, TRADEOFF_PLOT and, when the
training loss log exists, training_loss.png beside it, each atomically. The statistics are stats.py's: Wilson
intervals, the exact McNemar test with its power, Newcombe's interval for a paired difference.

    python report.py
"""

import csv
import io
import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import checkpoints
import common
import mmlu
import records
from records import key_epoch, model_key, producer, results_path
from report_markdown import render_markdown
from stats import (
    MMLU_STD_DDOF,
    SPIDER_STD_DDOF,
    aggregate_accuracy,
    paired_comparison,
    percent_change,
    points_change,
    sample_size_for,
    summarize_scores,
)

# Paths and settings are read from `common` at call time (common.X, not `from common import X`), so a test can
# point them at a temporary folder with monkeypatch.

# The study's column order in Table II / III; categories not listed here follow in MMLU_SUBJECTS order.
STUDY_CATEGORY_ORDER = ("STEM", "Ciências Sociais", "Humanidades")
ERROR_KINDS = (
    "syntax",
    "unknown_table_or_column",
    "not_a_query",
    "write_blocked",
    "timeout",
    "too_many_rows",
    "too_large",
    "too_long",
    "not_text",
    "wrong_result",
    "other",
)
SIGNIFICANCE_LEVEL = 0.05
# Spider's hardness levels in the official evaluator's order; a record made before hardness was recorded has none.
HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")
# "How many questions would be needed": differences in accuracy points.
SAMPLE_SIZE_POINTS = (1, 2, 5, 10)
ERROR_EXAMPLES_PER_KIND = 3


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_results(path, size=None):
    """Per-example records keyed by "index" (a resumed run that repeated an item keeps the last), or None if absent.
    With size, only the first size items: the records beyond a lowered EVALUATION_ENTRIES_SIZE stay in the file,
    unreported."""
    path = Path(path)
    if not path.exists():
        return None
    kept = records.read_jsonl_records(path)
    return {record["index"]: record for record in kept if size is None or record["index"] < size}


def paired_test(base_records, model_records, field):
    """stats.paired_comparison (exact McNemar, Newcombe interval, power) on the items present in both files (by
    index) that have a non-null score in both."""
    if base_records is None or model_records is None:
        return None
    indices = [
        index
        for index in sorted(set(base_records) & set(model_records))
        if base_records[index].get(field) is not None and model_records[index].get(field) is not None
    ]
    test = paired_comparison([base_records[i][field] for i in indices], [model_records[i][field] for i in indices])
    return {**test, "reading": difference_reading(test)}


def scores(records, field):
    """The non-null 0/1 scores of one field, in index order."""
    return [records[index][field] for index in sorted(records) if records[index].get(field) is not None]


def model_name():
    return Path(common.MODEL_NAME).name


def spider_models():
    """(key, label, epochs, producing script) for every Spider row of Table I."""
    name = model_name()
    keys = ["base_3shot", "base_0shot"] + [model_key(epoch) for epoch in common.EVAL_EPOCHS]
    labels = [f"{name} (base, {common.BASELINE_SHOTS}-shot)", f"{name} (base, 0-shot)"]
    labels += [f"{name}-LoRA"] * len(common.EVAL_EPOCHS)
    return [(key, label, key_epoch(key), producer(results_path("spider", key))) for key, label in zip(keys, labels)]


def mmlu_models():
    return [(model_key(None), "Base", 0)] + [
        (model_key(epoch), f"LoRA ({epoch} épocas)", epoch) for epoch in common.EVAL_EPOCHS
    ]


def mmlu_categories():
    present = list(dict.fromkeys(common.MMLU_SUBJECTS.values()))
    return [c for c in STUDY_CATEGORY_ORDER if c in present] + [c for c in present if c not in STUDY_CATEGORY_ORDER]


# ---------------------------------------------------------------------------------------------------------------
# Computing


def error_breakdown(records):
    """Counts of error_kind among the wrong answers (study rule); an unknown or missing kind counts as "other"."""
    counts = dict.fromkeys(ERROR_KINDS, 0)
    for record in records.values():
        if record.get("score") == 0:
            counts[error_kind(record)] += 1
    return counts


def error_kind(record):
    """The record's error kind, "other" when unknown or missing (a kind added later by the sandbox, or none)."""
    kind = record.get("error_kind")
    return kind if kind in ERROR_KINDS else "other"


def summaries_by(records, field, group):
    """Accuracy of `field` per value of `group` (db_id, hardness), groups sorted; records without it are skipped."""
    values = sorted({record.get(group) for record in records.values()} - {None})
    return {
        value: summarize_scores(
            scores({i: r for i, r in records.items() if r.get(group) == value}, field), ddof=SPIDER_STD_DDOF
        )
        for value in values
    }


def by_hardness(records):
    """Accuracy per hardness level in the official order, or None when no record carries a hardness."""
    found = summaries_by(records, "score", "hardness")
    if not found:
        return None
    levels = list(HARDNESS_LEVELS) + sorted(set(found) - set(HARDNESS_LEVELS))
    without = sum(1 for record in records.values() if record.get("hardness") is None)
    table = {level: found[level] for level in levels if level in found}
    if without:  # a file resumed across the change: say how many records have no level rather than drop them
        table["(no hardness)"] = summarize_scores(
            scores({i: r for i, r in records.items() if r.get("hardness") is None}, "score"), ddof=SPIDER_STD_DDOF
        )
    return table


def has_field(loaded, field):
    """Whether any record of any file carries a non-null `field` (a column appears only when there is data)."""
    return any(record.get(field) is not None for records in loaded.values() if records for record in records.values())


def spider_results():
    expected = common.EVALUATION_ENTRIES_SIZE
    loaded = {key: read_results(results_path("spider", key), expected) for key, *_ in spider_models()}
    # test_suite_score is null where the run had no TEST_SUITE_DIR: the column exists only if some record has it.
    has_test_suite = has_field(loaded, "test_suite_score")
    models = {}
    for key, label, epochs, script in spider_models():
        records = loaded[key]
        entry = {"label": label, "epochs": epochs, "file": str(results_path("spider", key))}
        if records is None:
            models[key] = {**entry, "status": "missing", "missing_hint": f"run {script}"}
            continue
        summary = summarize_scores(scores(records, "score"), ddof=SPIDER_STD_DDOF)
        models[key] = {
            **entry,
            "status": "ok" if summary["n"] == expected else "incomplete",
            "expected_n": expected,
            "summary": summary,
            "strict": summarize_scores(scores(records, "strict_score"), ddof=SPIDER_STD_DDOF),
            "test_suite": summarize_scores(scores(records, "test_suite_score"), ddof=SPIDER_STD_DDOF)
            if has_test_suite
            else None,
            "by_database": summaries_by(records, "score", "db_id"),
            "by_hardness": by_hardness(records),
            "errors": error_breakdown(records),
            "mcnemar_vs_base_3shot": None
            if key == "base_3shot"
            else paired_test(loaded["base_3shot"], records, "score"),
            "mcnemar_vs_base_0shot": None
            if key == "base_0shot"
            else paired_test(loaded["base_0shot"], records, "score"),
        }
    databases = sorted({record["db_id"] for records in loaded.values() if records for record in records.values()})
    last = model_key(max(common.EVAL_EPOCHS)) if common.EVAL_EPOCHS else None

    def accuracy(key):
        return models.get(key, {}).get("summary", {}).get("accuracy")

    delta = {
        "from": "base_3shot",
        "to": last,
        "percent": percent_change(accuracy("base_3shot"), accuracy(last)),
        "percent_from_base_0shot": percent_change(accuracy("base_0shot"), accuracy(last)),
        "points": points_change(accuracy("base_3shot"), accuracy(last)),
        "points_from_base_0shot": points_change(accuracy("base_0shot"), accuracy(last)),
        # The paired test's words beside each signed change: a direction only where its interval excludes 0.
        "reading": comparison_reading(models.get(last, {}).get("mcnemar_vs_base_3shot")),
        "reading_from_base_0shot": comparison_reading(models.get(last, {}).get("mcnemar_vs_base_0shot")),
    }
    return {
        "expected_n": expected,
        "std_ddof": SPIDER_STD_DDOF,
        "databases": databases,
        "has_test_suite": has_test_suite,
        "error_kinds": list(ERROR_KINDS),
        "has_hardness": any(model.get("by_hardness") for model in models.values()),
        "models": models,
        "delta_last_epoch": delta,
        "error_examples": error_examples(loaded),
    }


def last_evaluated_epoch(loaded):
    """The key of the highest EVAL_EPOCHS adapter that has a Spider file, or None."""
    present = [epoch for epoch in common.EVAL_EPOCHS if loaded.get(model_key(epoch))]
    return model_key(max(present)) if present else None


def error_examples(loaded):
    """The study's III.C error analysis: up to ERROR_EXAMPLES_PER_KIND wrong answers of each error kind of the
    last evaluated epoch, drawn with common.SEED (a random draw, not the first ones: those cluster by database)."""
    key = last_evaluated_epoch(loaded)
    if key is None:
        return None
    wrong = [record for _, record in sorted(loaded[key].items()) if record.get("score") == 0]
    kinds = {}
    for kind in ERROR_KINDS:
        of_kind = [record for record in wrong if error_kind(record) == kind]
        if of_kind:
            # One generator per kind, seeded by the kind too, so adding a kind never reshuffles another's sample.
            chosen = random.Random(f"{common.SEED}-{kind}").sample(of_kind, min(ERROR_EXAMPLES_PER_KIND, len(of_kind)))
            kinds[kind] = {
                "count": len(of_kind),
                "examples": [
                    {
                        field: record.get(field)
                        for field in ("index", "db_id", "question", "prediction", "gold", "reason")
                    }
                    for record in sorted(chosen, key=lambda r: r["index"])
                ],
            }
    return {"model": key, "epochs": key_epoch(key), "seed": common.SEED, "wrong": len(wrong), "kinds": kinds}


def mmlu_scores_table(loaded, field, expected_per_category):
    """Per model: per-category summaries, the study's aggregate, pooled summary, McNemar vs base (all items)."""
    categories = mmlu_categories()
    table = {}
    for key, label, epochs in mmlu_models():
        records = loaded[key]
        if records is None:
            table[key] = {
                "label": label,
                "epochs": epochs,
                "status": "missing",
                "missing_hint": f"run {producer(results_path('mmlu', key))}",
            }
            continue
        per_category, per_category_p = {}, {}
        for category in categories:
            subset = {i: r for i, r in records.items() if r.get("category") == category}
            per_category[category] = summarize_scores(scores(subset, field), ddof=MMLU_STD_DDOF)
            if key_epoch(key) and loaded[model_key(None)] is not None:
                base_subset = {i: r for i, r in loaded[model_key(None)].items() if r.get("category") == category}
                per_category_p[category] = paired_test(base_subset, subset, field)
        pooled = summarize_scores(scores(records, field), ddof=MMLU_STD_DDOF)
        # Unknown expected counts (every test question, no prepared data to count): the n present is all we can state.
        complete = expected_per_category is None or all(
            per_category[c]["n"] == expected_per_category[c] for c in categories
        )
        table[key] = {
            "label": label,
            "epochs": epochs,
            "status": "ok" if complete else "incomplete",
            "expected_n": None if expected_per_category is None else sum(expected_per_category.values()),
            "n": pooled["n"],
            "categories": per_category,
            # The study's "Agregada": mean of the category accuracies +- their population std.
            "aggregate": aggregate_accuracy([per_category[c]["accuracy"] for c in categories]),
            # The micro average, all questions pooled: equals the aggregate only when the categories are equally
            # sized (not so with all 57 subjects); its CI is the plot's.
            "pooled": pooled,
            "mcnemar_vs_base": paired_test(loaded[model_key(None)], records, field) if key_epoch(key) else None,
            "mcnemar_vs_base_by_category": per_category_p or None,
        }
    return table


def mmlu_expected_per_category(categories):
    """Questions per category this run asks for: MMLU_QUESTIONS_PER_SUBJECT per subject or, with 0 (every test
    question of each subject: a count of the data, not of the configuration), the prepared test questions of each
    category. None when those are missing or were made with other settings: then the n present is all we state."""
    if common.MMLU_QUESTIONS_PER_SUBJECT:
        subjects = list(common.MMLU_SUBJECTS.values())
        return {c: common.MMLU_QUESTIONS_PER_SUBJECT * subjects.count(c) for c in categories}
    try:
        items, _dev = mmlu.read_questions()  # the checks script 4 makes: these are the questions it evaluates
    except common.PipelineError:
        return None
    counts = Counter(item["category"] for item in items)
    return {c: counts[c] for c in categories}


def unparseable_generations(loaded):
    """Per model: generations that gave no answer letter (generated_text present, generated_choice None)."""
    counts = {}
    for key, items in loaded.items():
        if items is None:
            continue
        generated = [r for r in items.values() if r.get("generated_text") is not None]
        counts[key] = {
            "unparseable": sum(1 for r in generated if r.get("generated_choice") is None),
            "generated": len(generated),
        }
    return counts


def mmlu_results():
    loaded = {key: read_results(results_path("mmlu", key)) for key, *_ in mmlu_models()}
    expected = mmlu_expected_per_category(mmlu_categories())
    logprob = mmlu_scores_table(loaded, "correct", expected)
    has_generation = has_field(loaded, "generated_correct")
    return {
        "categories": mmlu_categories(),
        "std_ddof": MMLU_STD_DDOF,
        "expected_n": None if expected is None else sum(expected.values()),
        "prompt_format": getattr(common, "MMLU_PROMPT_FORMAT", "chat"),
        "models": logprob,
        "generation": mmlu_scores_table(loaded, "generated_correct", expected) if has_generation else None,
        "unparseable_generations": unparseable_generations(loaded) if has_generation else None,
    }


def comparison_reading(test):
    """The reading of a paired test, None where there is no test (a file missing)."""
    return None if test is None else test["reading"]


def table_iii(mmlu):
    """Table III for every evaluated epoch: category accuracy of base and each LoRA, the percent change, and the
    reading of the paired test behind it (the category's; the aggregate's is all questions')."""

    def accuracy(key, category):
        model = mmlu["models"][key]
        if model["status"] == "missing":
            return None
        if category == "Agregada":
            return model["aggregate"]["accuracy"]
        return model["categories"][category]["accuracy"]

    def reading(key, category):
        model = mmlu["models"][key]
        if category == "Agregada":
            return comparison_reading(model.get("mcnemar_vs_base"))
        return comparison_reading((model.get("mcnemar_vs_base_by_category") or {}).get(category))

    rows = []
    for category in mmlu["categories"] + ["Agregada"]:
        base = accuracy(model_key(None), category)
        epochs = {}
        for epoch in common.EVAL_EPOCHS:
            new = accuracy(model_key(epoch), category)
            epochs[str(epoch)] = {
                "accuracy": new,
                "percent_change": percent_change(base, new),
                "reading": reading(model_key(epoch), category),
            }
        rows.append({"category": category, "base": base, "epochs": epochs})
    return rows


def difference_reading(test):
    """The words for a paired difference: a direction only when its 95% interval excludes zero."""
    if test["difference"] is None:
        return "no paired items"
    if not test["distinguishable"]:
        return "not distinguishable from no change at this sample size"
    return "higher than base" if test["difference"] > 0 else "lower than base"


def mmlu_readings(mmlu):
    """One line per fine-tuned model: its MMLU change vs base (all items), with interval, test and power."""
    readings = {}
    base = mmlu["models"][model_key(None)]
    for key, _label, epochs in mmlu_models()[1:]:
        model = mmlu["models"][key]
        if model["status"] == "missing" or base["status"] == "missing":
            readings[key] = None
            continue
        test = model["mcnemar_vs_base"]
        if test["difference"] is None:  # the two files share no question yet
            readings[key] = None
            continue
        supported = test["p_value"] < SIGNIFICANCE_LEVEL
        change = model["aggregate"]["accuracy"] - base["aggregate"]["accuracy"]
        detectable = test["minimum_detectable_difference"]
        power = (
            f"the smallest difference detectable at 80% power is {100 * detectable:.1f} points"
            if detectable
            else "at this n no difference reaches 80% power"
        )
        readings[key] = {
            "epochs": epochs,
            "aggregate_change": change,
            "difference": test["difference"],
            "p_value": test["p_value"],
            "significant": supported,
            "reading": difference_reading(test),
            "text": (
                f"LoRA epoch {epochs}: MMLU micro average {test['difference']:+.3f} "
                f"[{test['ci_low']:+.3f}, {test['ci_high']:+.3f}] vs base (study aggregate {change:+.3f}; "
                f"McNemar p = {test['p_value']:.4f}, b = {test['b']}, c = {test['c']}, n = {test['n_paired']}): "
                f"{test['reading']}; {power}."
            ),
        }
    return readings


def comparisons(spider, mmlu):
    """Every base-vs-fine-tuned comparison on all items: (benchmark, model key, label, paired test or None)."""
    rows = []
    for epoch in common.EVAL_EPOCHS:
        key = model_key(epoch)
        model = spider["models"][key]
        for versus in ("base_0shot", "base_3shot"):
            rows.append(("Spider", key, f"LoRA epoch {epoch} vs {versus}", model.get(f"mcnemar_vs_{versus}")))
    for benchmark, table in (("MMLU", mmlu["models"]), ("MMLU (generation)", mmlu["generation"])):
        for epoch in common.EVAL_EPOCHS if table else ():
            key = model_key(epoch)
            rows.append((benchmark, key, f"LoRA epoch {epoch} vs base", table[key].get("mcnemar_vs_base")))
    return rows


def sample_sizes(spider, mmlu):
    """How many paired questions a difference of SAMPLE_SIZE_POINTS would need, at each comparison's discordance
    rate (observed, or assumed as stats.paired_comparison says); None where the difference exceeds the rate."""
    rows = []
    for benchmark, key, label, test in comparisons(spider, mmlu):
        rate = test["p_discordant"] if test else None
        needed = {str(points): (sample_size_for(points / 100, rate) if rate else None) for points in SAMPLE_SIZE_POINTS}
        rows.append(
            {
                "benchmark": benchmark,
                "model": key,
                "comparison": label,
                "n_paired": test["n_paired"] if test else None,
                "p_discordant": rate,
                "p_discordant_source": test["p_discordant_source"] if test else None,
                "n_needed": needed,
            }
        )
    return rows


def read_loss_log(path):
    """(step, loss) pairs of the training loss log, or None when the file is absent or has no loss rows."""
    path = Path(path)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        # Rows without a loss (evaluation or end-of-training entries) are not points of the curve.
        rows = [row for row in csv.DictReader(handle) if row.get("loss") not in (None, "") and row.get("step")]
    points = [(int(float(row["step"])), float(row["loss"])) for row in rows]
    return points or None


def training_loss(points):
    """What the report says about the loss log: its path, the plot's, and first and last losses."""
    summary = {"log": str(common.PATHS.loss_log), "plot": str(common.PATHS.loss_plot), "status": "missing"}
    if points:
        summary.update(status="ok", points=len(points), first=list(points[0]), last=list(points[-1]))
    return summary


def results_date():
    """When the newest per-example result was written (not the time of this report: unchanged results, unchanged
    report, so a finished run rebuilt on a read-only folder writes nothing)."""
    paths = common.PATHS
    files = [*paths.spider_results.glob("*.jsonl"), *paths.mmlu_results.glob("*.jsonl")]
    newest = max((path.stat().st_mtime for path in files if ".stale-" not in path.name), default=None)
    return None if newest is None else datetime.fromtimestamp(newest).strftime("%Y-%m-%d %H:%M")


def trained_split(manifest):
    """The split the adapters were trained on (None before training): the manifest's, not the configured one."""
    return manifest.get("config", {}).get("TRAIN_SPLIT") if manifest else None


def leakage(manifest, spider):
    """The leakage warning when the training questions overlap the evaluated ones (TRAIN_SPLIT=dev)."""
    if manifest is None:
        return {"overlap_with_evaluated": None, "warning": None}
    overlap = int(manifest.get("overlap_with_evaluated") or 0)
    evaluated = manifest.get("evaluated_questions") or spider["expected_n"]
    warning = None
    if overlap > 0:
        warning = (
            f"LEAKAGE: {overlap} of the {evaluated} evaluated Spider questions were in the training data "
            f"(TRAIN_SPLIT={trained_split(manifest) or common.TRAIN_SPLIT}); these Spider numbers measure "
            f"memorisation, not generalisation."
        )
    return {"overlap_with_evaluated": overlap, "evaluated_questions": evaluated, "warning": warning}


def collect_results():
    manifest = checkpoints.read_manifest()
    spider = spider_results()
    mmlu = mmlu_results()
    config = {
        name: (list(value) if isinstance(value, tuple) else value)
        for name, value in (
            ("SEED", common.SEED),
            ("TRAIN_SPLIT", common.TRAIN_SPLIT),
            ("EVALUATION_ENTRIES_SIZE", common.EVALUATION_ENTRIES_SIZE),
            ("EVAL_EPOCHS", common.EVAL_EPOCHS),
            ("BASELINE_SHOTS", common.BASELINE_SHOTS),
            ("MMLU_SHOTS", common.MMLU_SHOTS),
            ("MMLU_QUESTIONS_PER_SUBJECT", common.MMLU_QUESTIONS_PER_SUBJECT),
            ("MMLU_PROMPT_FORMAT", getattr(common, "MMLU_PROMPT_FORMAT", "chat")),
            ("MMLU_SUBJECTS", common.MMLU_SUBJECTS),
        )
    }
    return {
        "profile": common.PROFILE,
        "model": common.MODEL_NAME,
        "date": results_date(),
        "config": config,
        # The split actually trained on is the manifest's; the config value is only a fallback before training.
        "train_split": trained_split(manifest),
        "training_manifest": manifest,
        "leakage": leakage(manifest, spider),
        "spider": spider,
        "mmlu": mmlu,
        "table_iii": table_iii(mmlu),
        "mmlu_readings": mmlu_readings(mmlu),
        "sample_sizes": sample_sizes(spider, mmlu),
        "training_loss": training_loss(read_loss_log(common.PATHS.loss_log)),
    }


# ---------------------------------------------------------------------------------------------------------------
# Writing: CSV and plot

CSV_COLUMNS = (
    "benchmark",
    "model",
    "category",
    "status",
    "n",
    "accuracy",
    "std",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_vs",
    "b",
    "c",
    "difference",
    "difference_ci_low",
    "difference_ci_high",
    "p_discordant",
    "minimum_detectable_difference",
)


def paired_cells(test):
    """The paired columns of a CSV row from one stats.paired_comparison (all empty without a test)."""
    test = test or {}
    return {
        "p_value": test.get("p_value"),
        "b": test.get("b"),
        "c": test.get("c"),
        "difference": test.get("difference"),
        "difference_ci_low": test.get("ci_low"),
        "difference_ci_high": test.get("ci_high"),
        "p_discordant": test.get("p_discordant"),
        "minimum_detectable_difference": test.get("minimum_detectable_difference"),
    }


def csv_rows(results):
    """One row per (benchmark, model, category). The paired columns (p_value, b, c, difference and its Newcombe
    interval, p_discordant, minimum_detectable_difference at 80% power) compare with the model in p_value_vs."""
    rows = []

    def add(benchmark, key, category, status, summary=None, test=None, versus=""):
        summary = summary or {}
        rows.append(
            {
                "benchmark": benchmark,
                "model": key,
                "category": category,
                "status": status,
                "n": summary.get("n", ""),
                "accuracy": summary.get("accuracy"),
                "std": summary.get("std"),
                "ci_low": summary.get("ci_low"),
                "ci_high": summary.get("ci_high"),
                "p_value_vs": versus if test else "",
                **paired_cells(test),
            }
        )

    for key, model in results["spider"]["models"].items():
        if model["status"] == "missing":
            add("spider", key, "all", "missing")
            add("spider_strict", key, "all", "missing")
            continue
        # The like-for-like comparison (same prompt) for the fine-tuned models; the study's baseline for base 0-shot.
        versus = "base_3shot" if key == "base_0shot" else ("" if key == "base_3shot" else "base_0shot")
        test = model.get(f"mcnemar_vs_{versus}") if versus else None
        add("spider", key, "all", model["status"], model["summary"], test, versus)
        if key_epoch(key):
            test = model.get("mcnemar_vs_base_3shot")
            add("spider_vs_base_3shot", key, "all", model["status"], model["summary"], test, "base_3shot")
        add("spider_strict", key, "all", model["status"], model["strict"])
        if model["test_suite"] is not None:
            add("spider_test_suite", key, "all", model["status"], model["test_suite"])
        for field, benchmark in (("by_database", "spider_by_database"), ("by_hardness", "spider_by_hardness")):
            for group, summary in (model[field] or {}).items():
                add(benchmark, key, group, model["status"], summary)
    for benchmark, table in (("mmlu", results["mmlu"]["models"]), ("mmlu_generation", results["mmlu"]["generation"])):
        for key, model in (table or {}).items():
            if model["status"] == "missing":
                add(benchmark, key, "aggregate", "missing")
                continue
            by_category = model["mcnemar_vs_base_by_category"] or {}
            for category, summary in model["categories"].items():
                add(benchmark, key, category, model["status"], summary, by_category.get(category), "base")
            # The study's aggregate (mean of categories, population std) has no interval; the micro average has.
            aggregate = {"n": model["n"], **model["aggregate"], "ci_low": None, "ci_high": None}
            add(benchmark, key, "aggregate", model["status"], aggregate)
            add(benchmark, key, "micro_average", model["status"], model["pooled"], model["mcnemar_vs_base"], "base")
    return rows


def render_csv(results):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(results):
        writer.writerow({k: ("" if v is None else (f"{v:.6f}" if isinstance(v, float) else v)) for k, v in row.items()})
    return buffer.getvalue()


def plot_series(points):
    """(xs, ys, lower errors, upper errors) of the (epoch, summary) points that exist."""
    points = [(x, s) for x, s in points if s is not None and s["accuracy"] is not None]
    return (
        [x for x, _ in points],
        [s["accuracy"] for _, s in points],
        [s["accuracy"] - s["ci_low"] for _, s in points],
        [s["ci_high"] - s["accuracy"] for _, s in points],
    )


def write_plot(results, path):
    """Spider (base 0-shot at epoch 0, the like-for-like start) and MMLU (all items) by epoch, with 95% CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spider = results["spider"]["models"]
    mmlu = results["mmlu"]["models"]

    def summary(models, key, field):
        model = models.get(key)
        return None if model is None or model["status"] == "missing" else model[field]

    epochs = list(common.EVAL_EPOCHS)
    spider_points = [(0, summary(spider, "base_0shot", "summary"))] + [
        (e, summary(spider, model_key(e), "summary")) for e in epochs
    ]
    mmlu_points = [(0, summary(mmlu, model_key(None), "pooled"))] + [
        (e, summary(mmlu, model_key(e), "pooled")) for e in epochs
    ]
    figure, axis = plt.subplots(figsize=(7, 4.5))
    # Small horizontal offsets keep the error bars of the series at the same epoch apart.
    for points, label, style, shift in (
        (spider_points, "Spider execution accuracy (0-shot prompt)", "o-", 0.0),
        (mmlu_points, "MMLU accuracy (all items)", "s-", 0.08),
    ):
        xs, ys, low, high = plot_series(points)
        if xs:
            axis.errorbar([x + shift for x in xs], ys, yerr=[low, high], fmt=style, capsize=4, label=label)
    xs, ys, low, high = plot_series([(0, summary(spider, "base_3shot", "summary"))])
    if xs:  # the study's baseline, a different prompt: a separate point, slightly offset so the bars don't overlap
        axis.errorbar(
            [x - 0.08 for x in xs],
            ys,
            yerr=[low, high],
            fmt="D",
            capsize=4,
            color="gray",
            label=f"Spider base {common.BASELINE_SHOTS}-shot (study baseline)",
        )
    axis.set_xticks([0] + epochs)
    axis.set_xlabel("Epochs of LoRA fine-tuning (0 = base model)")
    axis.set_ylabel("Accuracy (95% Wilson CI)")
    axis.set_ylim(0, 1)
    axis.set_title(f"Spider vs MMLU trade-off ({results['profile']} profile)")
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="best", fontsize=8)
    save_figure(figure, path)


def save_figure(figure, path):
    """Save as PNG like every handed-off file (atomically, and only if it changed), and close the figure."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=120)
    plt.close(figure)
    records.write_bytes(path, image.getvalue())


def write_loss_plot(points, path):
    """The training loss by optimizer step, from the loss log: the training curve beside the trade-off plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.plot([step for step, _ in points], [loss for _, loss in points], "-", linewidth=1.2)
    axis.set_xlabel("Optimizer step")
    axis.set_ylabel("Training loss (answer tokens)")
    axis.set_title(f"Training loss ({common.PROFILE} profile, {len(points)} logged steps)")
    axis.grid(alpha=0.3)
    save_figure(figure, path)


def build_report():
    """Recompute everything from the per-example files and write the four outputs. Returns the results dict."""
    results = collect_results()
    paths = common.PATHS
    records.write_json(paths.results_json, results)
    records.write_text(paths.results_csv, render_csv(results))
    write_plot(results, paths.tradeoff_plot)
    points = read_loss_log(paths.loss_log)
    if points:
        write_loss_plot(points, common.PATHS.loss_plot)
    records.write_text(paths.report, render_markdown(results))
    return results


def main():
    build_report()
    print(f"report: {common.PATHS.report}")


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
