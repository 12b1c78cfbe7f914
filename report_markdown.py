"""report.md from the results dict of report.collect_results: the study's Tables I-III and what it lacked.

Only formatting lives here; every number is computed in report.py (and stats.py) and stored in results.json, so
the markdown, the JSON and the CSV cannot disagree. A missing part reads "missing (run X)" or "—", never 0.
"""

from pathlib import Path

from records import SCRIPTS, key_epoch

import common

# What the study's evaluated sample really was (its dev.json order): worth saying next to every Spider table.
STUDY_SAMPLE_NOTE = (
    "The study's first 150 dev questions cover only three databases (concert_singer, pets_1, car_1); "
    "the full dev set (1034 questions, 20 databases) is the number to publish."
)
TEST_SUITE_NOTE = (
    "Published fine-tuning results on Spider dev (e.g. 0.662 for Qwen-7B-Chat with QLoRA) are test-suite "
    "figures (the official test-suite databases and rules): compare them with the test-suite column only."
)
DESIGN_NOTE = (
    "Design of the power figures: n paired questions, each discordant (one model right, the other wrong) with "
    "probability p_d; the accuracy difference is δ = p01 − p10 (model right only minus base right only), so |δ| ≤ "
    "p_d. The exact two-sided McNemar test (binomial test of c among the b + c discordant pairs) at α = 0.05 is "
    "summed exactly over the binomial number of discordant pairs. *Detectable* is the smallest |δ| it finds with "
    "80% power. p_d is the observed (b + c)/n; with no discordant pair it is *assumed* 2p(1 − p) at the base "
    "accuracy p (independent errors, an upper bound when both models fail on the same questions), and with p = 0 "
    "or 1 there is no figure (—). The 95% interval of δ is Newcombe's hybrid score interval for paired "
    "proportions (1998, method 10); where it includes 0 the difference is *not distinguishable from no change at "
    "this sample size*, whatever its sign. At the margin the interval and the exact test can disagree (the exact "
    "test is conservative at small b + c): both are shown. *not reachable* means even |δ| = p_d falls short of 80% "
    "power at this n."
)


def table_row(cells):
    """One markdown table row: as many cells as given, whatever their number (no trailing empty cell)."""
    return "| " + " | ".join(cells) + " |"


def fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_ci(summary):
    return "—" if summary["ci_low"] is None else f"[{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def fmt_p(test):
    return "—" if test is None else f"{test['p_value']:.4f} (b={test['b']}, c={test['c']}, n={test['n_paired']})"


def fmt_change(value):
    # round first: a float residue of an unchanged aggregate (-1e-14) must not print as "-0.0%"
    return "—" if value is None else f"{round(value, 1) + 0.0:+.1f}%"


def fmt_signed_points(value):
    """An accuracy difference in percentage points, with its sign."""
    return "—" if value is None else f"{round(100 * value, 1) + 0.0:+.1f} pts"


def fmt_reading(reading):
    """A paired test's reading after a signed change (nothing where there is no test)."""
    return "" if reading is None else f": {reading}"


def fmt_points(value):
    """A difference in accuracy as percentage points."""
    return "—" if value is None else f"{100 * value:.1f} pts"


def fmt_summary(summary):
    """Accuracy [95% CI] (n=...): one cell of a breakdown table."""
    if summary is None or summary["accuracy"] is None:
        return "—"
    return f"{summary['accuracy']:.3f} {fmt_ci(summary)} (n={summary['n']})"


def n_note(n, expected):
    """Flags a partial file: the n it has against the n the configuration asks for (None: not known, n only)."""
    if expected is None:
        return f" (n={n})"
    return "" if n == expected else f" (n={n} of {expected})"


def inline_code(text):
    """Text as one inline code span: newlines folded, the fence longer than any backtick run inside (SQLite
    accepts `quoted` identifiers), pipes escaped so a table cell or list item is not split."""
    text = " ".join(str(text or "").split()).replace("|", "\\|")
    if not text:
        return "(empty)"
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (longest_backtick_run(text) + 1)
    return f"{fence} {text} {fence}"


def longest_backtick_run(text):
    longest = current = 0
    for character in text:
        current = current + 1 if character == "`" else 0
        longest = max(longest, current)
    return longest


# ---------------------------------------------------------------------------------------------------------------
# Header


def markdown_header(results):
    config = results["config"]
    lines = [
        f"# Report — QLoRA fine-tuning of {Path(results['model']).name} on Spider",
        "",
        f"- Profile: **{results['profile']}**",
        f"- Model: `{results['model']}`",
        f"- Results as of: {results['date'] or 'no results yet'}",
        "",
        "```",
    ]
    manifest = results["training_manifest"]
    for name, value in config.items():
        if name == "MMLU_SUBJECTS":
            continue
        # The adapters may come from a run with another split than the one configured now: the manifest decides.
        if name == "TRAIN_SPLIT" and results["train_split"] not in (None, value):
            value = f"{value}  # configured now; the adapters were trained on {results['train_split']}"
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
            f"Training: train split **{results['train_split']}**, {manifest.get('train_examples')} "
            f"examples, {manifest.get('dropped_too_long')} dropped as too long, overlap with the evaluated "
            f"questions: {manifest.get('overlap_with_evaluated')}"
        )
        if not manifest.get("finished", False):
            text += " — training NOT finished"
        lines += [text + ".", ""]
    if results["leakage"]["warning"]:
        lines += [f"> **⚠ {results['leakage']['warning']}**", ""]
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Spider


def markdown_table_i(spider):
    test_suite = spider["has_test_suite"]
    extra_header = " Test-suite accuracy (official test-suite databases) |" if test_suite else ""
    lines = [
        f"### Table I — Spider execution accuracy (std with ddof={spider['std_ddof']}, as the study)",
        "",
        "| Model | Epochs | Accuracy | Std | 95% CI | Strict accuracy (official rules) |"
        + extra_header
        + " McNemar p vs base 3-shot | McNemar p vs base 0-shot |",
        "|---" * (8 + test_suite) + "|",
    ]
    for model in spider["models"].values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | {model['epochs']} | missing ({model['missing_hint']}) |"
                + " — |" * (5 + test_suite)
            )
            continue
        summary, strict = model["summary"], model["strict"]
        partial = n_note(summary["n"], model["expected_n"])
        suite = ""
        if test_suite:
            # Only the records scored against the test-suite databases count: their own n is shown when it differs.
            suite_summary = model["test_suite"]
            suite_n = "" if suite_summary["n"] == summary["n"] else f" (n={suite_summary['n']})"
            suite = f" {fmt(suite_summary['accuracy'])} {fmt_ci(suite_summary)}{suite_n} |"
        lines.append(
            f"| {model['label']} | {model['epochs']} | {fmt(summary['accuracy'])}{partial} | "
            f"{fmt(summary['std'])} | {fmt_ci(summary)} | {fmt(strict['accuracy'])} {fmt_ci(strict)} |"
            + suite
            + f" {fmt_p(model['mcnemar_vs_base_3shot'])} | {fmt_p(model['mcnemar_vs_base_0shot'])} |"
        )
    if test_suite:
        lines += ["", TEST_SUITE_NOTE]
    return lines + [""]


def comparison_row(cells, test):
    """A row of a paired-comparison table: the given leading cells, then n, b, c, δ [CI], p, p_d, detectable."""
    if test is None:
        return "| " + " | ".join(cells) + " | missing |" + " — |" * 7
    difference = "—" if test["difference"] is None else f"{test['difference']:+.3f}"
    interval = "" if test["ci_low"] is None else f" [{test['ci_low']:+.3f}, {test['ci_high']:+.3f}]"
    rate = "—" if test["p_discordant"] is None else f"{test['p_discordant']:.3f} ({test['p_discordant_source']})"
    detectable = test["minimum_detectable_difference"]
    detectable = "not reachable" if detectable is None and test["p_discordant"] else fmt_points(detectable)
    return (
        "| " + " | ".join(cells) + f" | {test['n_paired']} | {test['b']} | {test['c']} | {difference}{interval} | "
        f"{test['p_value']:.4f} | {rate} | {detectable} | {test['reading']} |"
    )


COMPARISON_HEADER = (
    "n | b (base only right) | c (model only right) | δ accuracy, model − base [95% CI] | McNemar p | "
    "p_d (discordance) | Detectable at 80% power | Reading |"
)


def markdown_spider_comparisons(spider):
    lines = [
        "### Table I-b — Spider: each fine-tuned model against the base model, paired on the same questions",
        "",
        "| Model | vs | " + COMPARISON_HEADER,
        "|---" * 10 + "|",
    ]
    for key, model in spider["models"].items():
        if not key_epoch(key):
            continue
        for versus in ("base_0shot", "base_3shot"):
            label = f"LoRA epoch {key_epoch(key)}"
            lines.append(comparison_row([label, versus], model.get(f"mcnemar_vs_{versus}")))
    return lines + ["", DESIGN_NOTE, ""]


def markdown_breakdown(spider, field, title, row_name, missing_text):
    """Accuracy per group (database, hardness level) with its n, one column per Spider model with results."""
    models = [model for model in spider["models"].values() if model["status"] != "missing"]
    tables = [model.get(field) for model in models]
    if not any(tables):
        return [title, "", missing_text, ""]
    groups = list(dict.fromkeys(group for table in tables if table for group in table))
    labels = [model["label"] + (f" epoch {model['epochs']}" if model["epochs"] else "") for model in models]
    lines = [title, "", f"| {row_name} | " + " | ".join(labels) + " |", "|---" * (1 + len(models)) + "|"]
    for group in groups:
        cells = [fmt_summary(table.get(group)) if table else "—" for table in tables]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines + [""]


def markdown_error_examples(examples):
    lines = ["### Error analysis — examples of each kind of error (as the study's section III.C)", ""]
    if examples is None:
        return lines + ["No fine-tuned model's Spider results yet: no errors to show.", ""]
    lines += [
        f"LoRA epoch {examples['epochs']} (the last evaluated epoch): {examples['wrong']} wrong answers; up to "
        f"three of each kind drawn with seed {examples['seed']}.",
        "",
    ]
    if not examples["kinds"]:
        return lines + ["No wrong answers.", ""]
    for kind, found in examples["kinds"].items():
        lines += [f"#### {kind} ({len(found['examples'])} of {found['count']})", ""]
        for example in found["examples"]:
            lines += [
                f"- **Question** (#{example['index']}, {example['db_id']}): {example['question']}",
                f"  - Predicted: {inline_code(example['prediction'])}",
                f"  - Gold: {inline_code(example['gold'])}",
                f"  - Reason: {' '.join(str(example['reason'] or '—').split())}",
            ]
        lines.append("")
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
    lines += [""] + markdown_table_i(spider)
    delta = spider["delta_last_epoch"]
    last = f"LoRA epoch {key_epoch(delta['to'])}" if delta["to"] else "the last epoch"
    lines += [
        f"Δ accuracy, base 3-shot → {last} (the study's Δ, relative): {fmt_change(delta['percent'])} "
        f"({fmt_signed_points(delta['points'])}){fmt_reading(delta['reading'])}; base 0-shot (same prompt) → "
        f"{last}: {fmt_change(delta['percent_from_base_0shot'])} "
        f"({fmt_signed_points(delta['points_from_base_0shot'])}){fmt_reading(delta['reading_from_base_0shot'])}. "
        "A relative change is undefined (—) where the base accuracy is 0; the reading is Table I-b's paired test.",
        "",
    ]
    lines += markdown_spider_comparisons(spider)
    lines += markdown_breakdown(
        spider,
        "by_hardness",
        "### Table I-c — Spider execution accuracy by hardness (official levels) [95% CI] (n)",
        "Hardness",
        "— (these records carry no hardness level: they were made before it was recorded; re-run scripts 2 and 3).",
    )
    lines += markdown_breakdown(
        spider,
        "by_database",
        "### Table I-d — Spider execution accuracy by database [95% CI] (n)",
        "Database",
        "— (no Spider results yet).",
    )
    kinds = spider["error_kinds"]
    lines += [
        "### Spider errors (wrong answers by kind, study rule)",
        "",
        "| Model | Epochs | n | Correct | " + " | ".join(kinds) + " |",
        "|---" * (4 + len(kinds)) + "|",
    ]
    for model in spider["models"].values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | {model['epochs']} | missing ({model['missing_hint']}) |"
                + " — |" * (1 + len(kinds))
            )
            continue
        counts = " | ".join(str(model["errors"][kind]) for kind in kinds)
        lines.append(
            f"| {model['label']} | {model['epochs']} | {model['summary']['n']} | "
            f"{model['summary']['correct']} | {counts} |"
        )
    return lines + [""] + markdown_error_examples(spider["error_examples"])


# ---------------------------------------------------------------------------------------------------------------
# MMLU


def markdown_mmlu_table(title, table, categories):
    lines = [
        title,
        "",
        "| Model | n | Aggregate (study: mean of categories ± population std) | Micro average (all questions) "
        "[95% CI] | " + " | ".join(categories) + " | McNemar p vs base (all items) |",
        "|---" * (5 + len(categories)) + "|",
    ]
    for model in table.values():
        if model["status"] == "missing":
            lines.append(
                f"| {model['label']} | missing ({model['missing_hint']}) | — | — |" + " — |" * len(categories) + " — |"
            )
            continue
        aggregate, micro = model["aggregate"], model["pooled"]
        cells = [
            f"{fmt(s['accuracy'])} ± {fmt(s['std'])} {fmt_ci(s)}" + ("" if s["n"] else " (no items)")
            for s in (model["categories"][c] for c in categories)
        ]
        if model["expected_n"] is None:
            n = f"n={model['n']}"  # every test question and no prepared data to count: no n to expect
        else:
            n = f"{model['n']}" + ("" if model["n"] == model["expected_n"] else f" of {model['expected_n']}")
        lines.append(
            f"| {model['label']} | {n} | {fmt(aggregate['accuracy'])} ± {fmt(aggregate['std'])} | "
            f"{fmt(micro['accuracy'])} {fmt_ci(micro)} | "
            + " | ".join(cells)
            + f" | {fmt_p(model['mcnemar_vs_base'])} |"
        )
    return lines + [""]


def markdown_unparseable(mmlu):
    """Under Table II-b: how many generations gave no answer letter, per model."""
    counts = mmlu["unparseable_generations"] or {}
    parts = [
        f"{model['label']} {counts[key]['unparseable']} of {counts[key]['generated']}"
        for key, model in mmlu["generation"].items()
        if key in counts
    ]
    return ["Generations with no parseable answer (counted wrong): " + ("; ".join(parts) or "—") + ".", ""]


def markdown_mmlu_comparisons(title, table, categories):
    lines = [title, "", "| Model | Category | " + COMPARISON_HEADER, "|---" * 10 + "|"]
    for key, model in table.items():
        if not key_epoch(key):
            continue
        label = f"LoRA epoch {model['epochs']}"
        if model["status"] == "missing":
            lines.append(comparison_row([label, "all"], None))
            continue
        lines.append(comparison_row([label, "all"], model["mcnemar_vs_base"]))
        by_category = model["mcnemar_vs_base_by_category"] or {}
        for category in categories:
            lines.append(comparison_row([label, category], by_category.get(category)))
    return lines + [""]


def markdown_mmlu(results):
    mmlu = results["mmlu"]
    categories = mmlu["categories"]
    lines = [
        "## MMLU (generalisation, 4-shot)",
        "",
        f"Prompt format: **{mmlu['prompt_format']}** (MMLU_PROMPT_FORMAT). Per category: accuracy ± std "
        f"(ddof={mmlu['std_ddof']}, as the study) [95% Wilson CI]. Two aggregates, labelled: the study's (mean of "
        "the category accuracies ± their population std) and the micro average over all questions (differs from "
        "the study's when categories have different sizes).",
        "",
    ]
    lines += markdown_mmlu_table(
        "### Table II — MMLU accuracy by category (letter log-probabilities)", mmlu["models"], categories
    )
    if mmlu["generation"] is not None:
        lines += markdown_mmlu_table(
            "### Table II-b — MMLU accuracy by category (the answer parsed from a short greedy generation)",
            mmlu["generation"],
            categories,
        )
        lines += markdown_unparseable(mmlu)
    lines += markdown_mmlu_comparisons(
        "### Table II-c — MMLU: each fine-tuned model against the base model, paired on the same questions",
        mmlu["models"],
        categories,
    )
    if mmlu["generation"] is not None:
        lines += markdown_mmlu_comparisons(
            "### Table II-d — MMLU scored by generation (Table II-b): each fine-tuned model against the base model, "
            "paired on the same questions",
            mmlu["generation"],
            categories,
        )
    epochs = [str(epoch) for epoch in common.EVAL_EPOCHS]
    per_epoch = ("LoRA {} épocas", "Variação (%)", "Reading (paired, epoch {})")
    lines += [
        "### Table III — Variação percentual de acurácia por categoria (MMLU, base → LoRA)",
        "",
        table_row(["Categoria", "Base"] + [cell.format(e) for e in epochs for cell in per_epoch]),
        "|---" * (2 + 3 * len(epochs)) + "|",
    ]
    for row in results["table_iii"]:
        cells = [
            cell
            for e in epochs
            for cell in (
                fmt(row["epochs"][e]["accuracy"]),
                fmt_change(row["epochs"][e]["percent_change"]),
                row["epochs"][e]["reading"] or "—",
            )
        ]
        lines.append(table_row([row["category"], fmt(row["base"])] + cells))
    lines += [
        "",
        "Reading: the paired comparison of Table II-c on the same questions (for Agregada, all of them), a direction "
        "only where the 95% interval of the difference excludes 0.",
        "",
        "### Reading",
        "",
    ]
    for key, reading in results["mmlu_readings"].items():
        lines.append(f"- {reading['text']}" if reading else f"- {key}: no test (base or model results missing).")
    return lines + [""]


# ---------------------------------------------------------------------------------------------------------------
# Power, training, figures


def markdown_sample_sizes(rows):
    if not rows:
        return [
            "## How many questions would be needed",
            "",
            "No fine-tuned model to compare with the base model (EVAL_EPOCHS is empty).",
            "",
        ]
    points = list(rows[0]["n_needed"])
    lines = [
        "## How many questions would be needed",
        "",
        "Paired questions for the exact McNemar test to detect a difference in accuracy of "
        + ", ".join(points)
        + " points with 80% power at α = 0.05 (two-sided), at each comparison's discordance rate p_d (design as "
        "above). A difference larger than p_d cannot occur at that rate (—).",
        "",
        table_row(["Benchmark", "Comparison", "n now", "p_d"] + [f"{p} pt" for p in points]),
        "|---" * (4 + len(points)) + "|",
    ]
    for row in rows:
        rate = "—" if row["p_discordant"] is None else f"{row['p_discordant']:.3f} ({row['p_discordant_source']})"
        needed = " | ".join("—" if n is None else str(n) for n in row["n_needed"].values())
        n_now = "missing" if row["n_paired"] is None else str(row["n_paired"])
        lines.append(f"| {row['benchmark']} | {row['comparison']} | {n_now} | {rate} | {needed} |")
    return lines + [""]


def markdown_figures(results):
    loss = results["training_loss"]
    lines = ["## Figures", "", "- `tradeoff.png` — Spider and MMLU accuracy by epoch with 95% CIs."]
    if loss["status"] == "ok":
        (first_step, first), (last_step, last) = loss["first"], loss["last"]
        lines.append(
            f"- `{Path(loss['plot']).name}` — training loss by step ({loss['points']} logged steps; "
            f"{first:.4f} at step {first_step}, {last:.4f} at step {last_step})."
        )
    else:
        lines.append(f"- Training loss: missing (run {SCRIPTS[1]}); no loss log at `{loss['log']}`.")
    return lines + [""]


def render_markdown(results):
    lines = markdown_header(results) + markdown_spider(results["spider"]) + markdown_mmlu(results)
    lines += markdown_sample_sizes(results["sample_sizes"]) + markdown_figures(results)
    return "\n".join(lines)
