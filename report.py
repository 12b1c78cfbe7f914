"""The final report: the study's Tables I-III recomputed from the per-example result files, plus what it lacked.

Every number comes from the per-example JSONL files (never from a summary), so a half-finished run reports what it
has, labelled with its n. A part whose file is missing is written "missing (run X)", never as a zero.
Writes REPORT_FILE (markdown), RESULTS_JSON, RESULTS_CSV and TRADEOFF_PLOT, each atomically.

    python report.py
"""

import csv
import io
import os
from datetime import datetime
from pathlib import Path

import checkpoints
import common
import records
from records import SCRIPTS, key_epoch, model_key, producer, results_path
from stats import MMLU_STD_DDOF, SPIDER_STD_DDOF, aggregate_accuracy, mcnemar_exact, percent_change, summarize_scores

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
    "wrong_result",
    "other",
)
SIGNIFICANCE_LEVEL = 0.05
# What the study's evaluated sample really was (its dev.json order): worth saying next to every Spider table.
STUDY_SAMPLE_NOTE = (
    "The study's first 150 dev questions cover only three databases (concert_singer, pets_1, car_1); "
    "the full dev set (1034 questions, 20 databases) is the number to publish."
)


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_results(path):
    """Per-example records keyed by "index" (a resumed run that repeated an item keeps the last), or None if absent."""
    path = Path(path)
    if not path.exists():
        return None
    return {record["index"]: record for record in records.read_jsonl_records(path)}


def paired_test(base_records, model_records, field):
    """Exact McNemar on the items present in both files (by index) that have a non-null score in both."""
    if base_records is None or model_records is None:
        return None
    indices = [
        index
        for index in sorted(set(base_records) & set(model_records))
        if base_records[index].get(field) is not None and model_records[index].get(field) is not None
    ]
    result = mcnemar_exact([base_records[i][field] for i in indices], [model_records[i][field] for i in indices])
    return {**result, "n_paired": len(indices)}


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
    return [("base", "Base", 0)] + [(model_key(epoch), f"LoRA ({epoch} épocas)", epoch) for epoch in common.EVAL_EPOCHS]


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
            kind = record.get("error_kind")
            counts[kind if kind in counts else "other"] += 1
    return counts


def spider_results():
    expected = common.EVALUATION_ENTRIES_SIZE
    loaded = {key: read_results(results_path("spider", key)) for key, *_ in spider_models()}
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
    }
    return {
        "expected_n": expected,
        "std_ddof": SPIDER_STD_DDOF,
        "databases": databases,
        "models": models,
        "delta_last_epoch": delta,
    }


def mmlu_scores_table(loaded, field):
    """Per model: per-category summaries, the study's aggregate, pooled summary, McNemar vs base (all items)."""
    categories = mmlu_categories()
    expected_per_category = {
        c: common.MMLU_QUESTIONS_PER_SUBJECT * list(common.MMLU_SUBJECTS.values()).count(c) for c in categories
    }
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
            if key != "base" and loaded["base"] is not None:
                base_subset = {i: r for i, r in loaded["base"].items() if r.get("category") == category}
                per_category_p[category] = paired_test(base_subset, subset, field)
        pooled = summarize_scores(scores(records, field), ddof=MMLU_STD_DDOF)
        complete = all(per_category[c]["n"] == expected_per_category[c] for c in categories)
        table[key] = {
            "label": label,
            "epochs": epochs,
            "status": "ok" if complete else "incomplete",
            "expected_n": sum(expected_per_category.values()),
            "n": pooled["n"],
            "categories": per_category,
            # The study's "Agregada": mean of the category accuracies +- their population std.
            "aggregate": aggregate_accuracy([per_category[c]["accuracy"] for c in categories]),
            # All items pooled: equals the aggregate when the categories are equally sized; its CI is the plot's.
            "pooled": pooled,
            "mcnemar_vs_base": None if key == "base" else paired_test(loaded["base"], records, field),
            "mcnemar_vs_base_by_category": per_category_p or None,
        }
    return table


def mmlu_results():
    loaded = {key: read_results(results_path("mmlu", key)) for key, *_ in mmlu_models()}
    logprob = mmlu_scores_table(loaded, "correct")
    has_generation = any(
        record.get("generated_correct") is not None
        for records in loaded.values()
        if records
        for record in records.values()
    )
    return {
        "categories": mmlu_categories(),
        "std_ddof": MMLU_STD_DDOF,
        "expected_n": common.MMLU_QUESTIONS_PER_SUBJECT * len(common.MMLU_SUBJECTS),
        "models": logprob,
        "generation": mmlu_scores_table(loaded, "generated_correct") if has_generation else None,
    }


def table_iii(mmlu):
    """Table III for every evaluated epoch: category accuracy of base and each LoRA, and the percent change."""

    def accuracy(key, category):
        model = mmlu["models"][key]
        if model["status"] == "missing":
            return None
        if category == "Agregada":
            return model["aggregate"]["accuracy"]
        return model["categories"][category]["accuracy"]

    rows = []
    for category in mmlu["categories"] + ["Agregada"]:
        base = accuracy("base", category)
        epochs = {}
        for epoch in common.EVAL_EPOCHS:
            new = accuracy(model_key(epoch), category)
            epochs[str(epoch)] = {"accuracy": new, "percent_change": percent_change(base, new)}
        rows.append({"category": category, "base": base, "epochs": epochs})
    return rows


def mmlu_readings(mmlu):
    """One line per fine-tuned model: is its MMLU change vs base significant (McNemar, all items)?"""
    readings = {}
    base = mmlu["models"]["base"]
    for key, _label, epochs in mmlu_models()[1:]:
        model = mmlu["models"][key]
        if model["status"] == "missing" or base["status"] == "missing":
            readings[key] = None
            continue
        test = model["mcnemar_vs_base"]
        supported = test["p_value"] < SIGNIFICANCE_LEVEL
        change = model["aggregate"]["accuracy"] - base["aggregate"]["accuracy"]
        readings[key] = {
            "epochs": epochs,
            "aggregate_change": change,
            "p_value": test["p_value"],
            "significant": supported,
            "text": (
                f"LoRA epoch {epochs}: MMLU aggregate {change:+.3f} vs base (McNemar p = {test['p_value']:.4f}, "
                f"b = {test['b']}, c = {test['c']}, n = {test['n_paired']}): a change is "
                f"{'supported' if supported else 'not supported'} by this sample at {SIGNIFICANCE_LEVEL}."
            ),
        }
    return readings


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
            f"(TRAIN_SPLIT={manifest.get('train_split', common.TRAIN_SPLIT)}); these Spider numbers measure "
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
            ("MMLU_SUBJECTS", common.MMLU_SUBJECTS),
        )
    }
    return {
        "profile": common.PROFILE,
        "model": common.MODEL_NAME,
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "config": config,
        # The split actually trained on is the manifest's; the config value is only a fallback before training.
        "train_split": manifest.get("train_split") if manifest else None,
        "training_manifest": manifest,
        "leakage": leakage(manifest, spider),
        "spider": spider,
        "mmlu": mmlu,
        "table_iii": table_iii(mmlu),
        "mmlu_readings": mmlu_readings(mmlu),
    }


# ---------------------------------------------------------------------------------------------------------------
# Writing: markdown


def fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_ci(summary):
    return "—" if summary["ci_low"] is None else f"[{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def fmt_p(test):
    return "—" if test is None else f"{test['p_value']:.4f} (b={test['b']}, c={test['c']}, n={test['n_paired']})"


def fmt_change(value):
    return "—" if value is None else f"{value:+.1f}%"


def n_note(n, expected):
    """Flags a partial file: the n it has against the n the configuration asks for."""
    return "" if n == expected else f" (n={n} of {expected})"


def markdown_header(results):
    config = results["config"]
    lines = [
        f"# Report — QLoRA fine-tuning of {Path(results['model']).name} on Spider",
        "",
        f"- Profile: **{results['profile']}**",
        f"- Model: `{results['model']}`",
        f"- Date: {results['date']}",
        "",
        "```",
    ]
    manifest = results["training_manifest"]
    for name, value in config.items():
        if name == "MMLU_SUBJECTS":
            continue
        # The adapters may come from a run with another split than the one configured now: the manifest decides.
        if name == "TRAIN_SPLIT" and manifest and manifest.get("train_split") not in (None, value):
            value = f"{value}  # configured now; the adapters were trained on {manifest['train_split']}"
        lines.append(f"{name} = {value}")
    lines += ["```", ""]
    if results["profile"] == "demo":
        lines += [
            "> Demo profile: these numbers come from a tiny local model and project-made data; they prove the "
            "pipeline, not the science.",
            "",
        ]
    if manifest is None:
        lines += [
            f"Training: manifest missing (run {SCRIPTS[1]}); configured TRAIN_SPLIT = {config['TRAIN_SPLIT']}.",
            "",
        ]
    else:
        text = (
            f"Training: train split **{manifest.get('train_split')}**, {manifest.get('train_examples')} "
            f"examples, {manifest.get('dropped_too_long')} dropped as too long, overlap with the evaluated "
            f"questions: {manifest.get('overlap_with_evaluated')}"
        )
        if not manifest.get("finished", False):
            text += " — training NOT finished"
        lines += [text + ".", ""]
    if results["leakage"]["warning"]:
        lines += [f"> **⚠ {results['leakage']['warning']}**", ""]
    return lines


def markdown_spider(spider):
    lines = ["## Spider (text-to-SQL)", ""]
    databases = spider["databases"]
    if databases:
        lines.append(
            f"Sample: the evaluated questions cover {len(databases)} database(s): "
            f"{', '.join(databases)}. {STUDY_SAMPLE_NOTE}"
        )
    else:
        lines.append(f"Sample: no Spider results yet. {STUDY_SAMPLE_NOTE}")
    lines += [
        "",
        f"### Table I — Spider execution accuracy (std with ddof={spider['std_ddof']}, as the study)",
        "",
        "| Model | Epochs | Accuracy | Std | 95% CI | Strict accuracy (official rules) | "
        "McNemar p vs base 3-shot | McNemar p vs base 0-shot |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in spider["models"].values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | {model['epochs']} | missing ({model['missing_hint']}) | — | — | — | — | — |"
            )
            continue
        summary, strict = model["summary"], model["strict"]
        partial = n_note(summary["n"], model["expected_n"])
        lines.append(
            f"| {model['label']} | {model['epochs']} | {fmt(summary['accuracy'])}{partial} | "
            f"{fmt(summary['std'])} | {fmt_ci(summary)} | {fmt(strict['accuracy'])} {fmt_ci(strict)} | "
            f"{fmt_p(model['mcnemar_vs_base_3shot'])} | {fmt_p(model['mcnemar_vs_base_0shot'])} |"
        )
    delta = spider["delta_last_epoch"]
    last = f"LoRA epoch {key_epoch(delta['to'])}" if delta["to"] else "the last epoch"
    lines += [
        "",
        f"Δ accuracy, base 3-shot → {last} (the study's Δ): {fmt_change(delta['percent'])}; "
        f"base 0-shot (same prompt) → {last}: {fmt_change(delta['percent_from_base_0shot'])}.",
        "",
    ]
    lines += [
        "### Spider errors (wrong answers by kind, study rule)",
        "",
        "| Model | Epochs | n | Correct | " + " | ".join(ERROR_KINDS) + " |",
        "|---" * (4 + len(ERROR_KINDS)) + "|",
    ]
    for model in spider["models"].values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | {model['epochs']} | missing ({model['missing_hint']}) |"
                + " — |" * (1 + len(ERROR_KINDS))
            )
            continue
        counts = " | ".join(str(model["errors"][kind]) for kind in ERROR_KINDS)
        lines.append(
            f"| {model['label']} | {model['epochs']} | {model['summary']['n']} | "
            f"{model['summary']['correct']} | {counts} |"
        )
    return lines + [""]


def markdown_mmlu_table(title, table, categories):
    lines = [
        title,
        "",
        "| Model | n | Aggregate | " + " | ".join(categories) + " | McNemar p vs base (all items) |",
        "|---" * (4 + len(categories)) + "|",
    ]
    for model in table.values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | missing ({model['missing_hint']}) | — |" + " — |" * len(categories) + " — |"
            )
            continue
        aggregate = model["aggregate"]
        cells = [
            f"{fmt(s['accuracy'])} ± {fmt(s['std'])} {fmt_ci(s)}" + ("" if s["n"] else " (no items)")
            for s in (model["categories"][c] for c in categories)
        ]
        partial = "" if model["n"] == model["expected_n"] else f" of {model['expected_n']}"
        lines.append(
            f"| {model['label']} | {model['n']}{partial} | "
            f"{fmt(aggregate['accuracy'])} ± {fmt(aggregate['std'])} | "
            + " | ".join(cells)
            + f" | {fmt_p(model['mcnemar_vs_base'])} |"
        )
    return lines + [""]


def markdown_mmlu(results):
    mmlu = results["mmlu"]
    categories = mmlu["categories"]
    lines = [
        "## MMLU (generalisation, 4-shot)",
        "",
        f"Per category: accuracy ± std (ddof={mmlu['std_ddof']}, as the study) [95% Wilson CI]. Aggregate: mean "
        "of the category accuracies ± their population std, as the study.",
        "",
    ]
    lines += markdown_mmlu_table(
        "### Table II — MMLU accuracy by category (letter log-probabilities)", mmlu["models"], categories
    )
    if mmlu["generation"] is not None:
        lines += markdown_mmlu_table(
            "### Table II-b — MMLU accuracy by category (first letter of a greedy answer)",
            mmlu["generation"],
            categories,
        )
    epochs = [str(epoch) for epoch in common.EVAL_EPOCHS]
    lines += [
        "### Table III — Variação percentual de acurácia por categoria (MMLU, base → LoRA)",
        "",
        "| Categoria | Base | " + " | ".join(f"LoRA {e} épocas | Variação (%)" for e in epochs) + " |",
        "|---" * (2 + 2 * len(epochs)) + "|",
    ]
    for row in results["table_iii"]:
        cells = " | ".join(
            f"{fmt(row['epochs'][e]['accuracy'])} | {fmt_change(row['epochs'][e]['percent_change'])}" for e in epochs
        )
        lines.append(f"| {row['category']} | {fmt(row['base'])} | {cells} |")
    lines += ["", "### Reading", ""]
    for key, reading in results["mmlu_readings"].items():
        lines.append(f"- {reading['text']}" if reading else f"- {key}: no test (base or model results missing).")
    return lines + [""]


def render_markdown(results):
    lines = markdown_header(results) + markdown_spider(results["spider"]) + markdown_mmlu(results)
    lines += ["Figure: `tradeoff.png` — Spider and MMLU accuracy by epoch with 95% CIs.", ""]
    return "\n".join(lines)


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
)


def csv_rows(results):
    """One row per (benchmark, model, category); p_value is McNemar vs the row named in p_value_vs."""
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
                "p_value": test["p_value"] if test else None,
                "p_value_vs": versus if test else "",
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
        add("spider_strict", key, "all", model["status"], model["strict"])
    for benchmark, table in (("mmlu", results["mmlu"]["models"]), ("mmlu_generation", results["mmlu"]["generation"])):
        for key, model in (table or {}).items():
            if model["status"] == "missing":
                add(benchmark, key, "aggregate", "missing")
                continue
            by_category = model["mcnemar_vs_base_by_category"] or {}
            for category, summary in model["categories"].items():
                add(benchmark, key, category, model["status"], summary, by_category.get(category), "base")
            aggregate = {
                **model["pooled"],
                "accuracy": model["aggregate"]["accuracy"],
                "std": model["aggregate"]["std"],
            }
            add(benchmark, key, "aggregate", model["status"], aggregate, model["mcnemar_vs_base"], "base")
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
    mmlu_points = [(0, summary(mmlu, "base", "pooled"))] + [(e, summary(mmlu, model_key(e), "pooled")) for e in epochs]
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
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")  # keep .png so savefig knows the format
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    os.replace(temporary, path)


def build_report():
    """Recompute everything from the per-example files and write the four outputs. Returns the results dict."""
    results = collect_results()
    paths = common.PATHS
    records.write_json(paths.results_json, results)
    records.write_text(paths.results_csv, render_csv(results))
    write_plot(results, paths.tradeoff_plot)
    records.write_text(paths.report, render_markdown(results))
    return results


def main():
    build_report()
    print(f"report: {common.PATHS.report}")


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
