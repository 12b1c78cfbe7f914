"""The final report: the study's Tables I-III recomputed from the per-example result files, plus what it lacked.

Everything is drawn from one long table, one row per benchmark x model x slice (x the base it is compared with),
built from the per-example JSONL files only, never from a summary: results.csv is that table, results.json is it
plus the run's facts, and report.md and the plots read their numbers from it. A half-finished run reports what it
has, labelled with its n; a missing file reads "missing (run X)", never 0.
"""

import csv
import io
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from tradeoff import PipelineError, files, stats
from tradeoff.files import SCRIPTS, key_epoch, model_key
from tradeoff.sql_sandbox import ERROR_KINDS

# The data's categories are MMLU's own; the study's labels (and its column order) appear only in the markdown.
STUDY_LABELS = {"STEM": "STEM", "social sciences": "Ciências Sociais", "humanities": "Humanidades", "other": "Outras"}
HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")  # the official evaluator's order
SAMPLE_SIZE_POINTS = (1, 2, 5, 10)  # "how many questions would be needed" for these differences, in points
# The long table's columns: its field names live here only. group: all (every item), aggregate (the study's MMLU
# mean of the category accuracies), category, database, hardness, error (n: the wrong answers of that kind).
COLUMNS = ("benchmark", "model", "group", "slice", "status", "expected_n", "n", "correct", "accuracy", "std")
COLUMNS += ("ci_low", "ci_high", "versus", "n_paired", "b", "c", "p_value", "difference", "difference_ci_low")
COLUMNS += ("difference_ci_high", "reading", "p_discordant", "p_discordant_source", "minimum_detectable_difference")
COLUMNS += (*(f"n_for_{points}pt" for points in SAMPLE_SIZE_POINTS), "unparseable")
GROUP_FIELD = {"hardness": "hardness", "database": "db_id", "category": "category"}
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


@dataclass(frozen=True)
class ReportSettings:
    """The settings the report reads, each the lower-case name of a setting of the configuration."""

    profile: str
    model_name: str
    seed: int
    train_split: str
    evaluation_entries_size: int
    eval_epochs: tuple
    baseline_shots: int
    mmlu_shots: int
    mmlu_questions_per_subject: int
    mmlu_subjects: dict
    mmlu_prompt_format: str

    @classmethod
    def of(cls, config):
        """From a module or namespace holding the settings under their upper-case names (common)."""
        return cls(**{field.name: getattr(config, field.name.upper()) for field in fields(cls)})

    @property
    def categories(self):
        """The MMLU categories evaluated: the study's in its order, then the others in subject order."""
        present = list(dict.fromkeys(self.mmlu_subjects.values()))
        return [c for c in STUDY_LABELS if c in present] + [c for c in present if c not in STUDY_LABELS]

    def spider_models(self):
        """(key, Table I label) of every Spider model."""
        name = Path(self.model_name).name
        bases = [("base_3shot", f"{name} (base, {self.baseline_shots}-shot)"), ("base_0shot", f"{name} (base, 0-shot)")]
        return bases + [(model_key(epoch), f"{name}-LoRA") for epoch in self.eval_epochs]

    def mmlu_models(self):
        return [("base", "Base")] + [(model_key(epoch), f"LoRA ({epoch} épocas)") for epoch in self.eval_epochs]


# ---------------------------------------------------------------------------------------------------------------
# The long table


def read_model(path, size=None):
    """A model's records in index order (the first `size` only: those beyond a lowered EVALUATION_ENTRIES_SIZE stay
    in the file, unreported), or None when its file is missing."""
    if not Path(path).exists():
        return None
    return sorted((r for r in files.read_records(path) if size is None or r["index"] < size), key=lambda r: r["index"])


def scores(records, field):
    return [record[field] for record in records or () if record.get(field) is not None]


def paired(base, model, field):
    """stats.paired_comparison on the items present in both (by index) with a score in both."""
    base_scores = {r["index"]: r[field] for r in base if r.get(field) is not None}
    both = [
        (base_scores[r["index"]], r[field]) for r in model if r["index"] in base_scores and r.get(field) is not None
    ]
    return stats.paired_comparison([b for b, _ in both], [m for _, m in both])


def part(records, group, value):
    """The records of one slice."""
    return records if group == "all" else [r for r in records if r.get(GROUP_FIELD[group]) == value]


def model_rows(benchmark, field, key, records, status, slices, bases=None):
    """One model's rows of one benchmark: per slice (group, name, value, expected n) the summary of `field` and,
    against each of `bases` ({key: records or None}), the paired test on the same slice of the base."""
    ddof = stats.MMLU_STD_DDOF if benchmark.startswith("mmlu") else stats.SPIDER_STD_DDOF
    rows = []
    for group, name, value, expected in slices:
        row = dict.fromkeys(COLUMNS) | {"benchmark": benchmark, "model": key, "group": group, "slice": name}
        row |= {"status": status, "expected_n": expected}
        if records is not None:
            row |= stats.summarize_scores(scores(part(records, group, value), field), ddof)
        for versus, base in (bases or {None: None}).items():
            test = {"versus": versus}
            if versus and records is not None and base is not None:
                test |= paired(part(base, group, value), part(records, group, value), field)
                if group == "all" and key_epoch(key) and test["p_discordant"]:  # the planning figures
                    for points in SAMPLE_SIZE_POINTS:
                        test[f"n_for_{points}pt"] = stats.sample_size_for(points / 100, test["p_discordant"])
            rows.append(row | test)
    return rows


def status_of(records, complete):
    return "missing" if records is None else ("ok" if complete else "incomplete")


def error_kind(record):
    """The record's error kind, "other" when unknown or missing (a kind added later by the sandbox, or none)."""
    return record.get("error_kind") if record.get("error_kind") in ERROR_KINDS else "other"


def spider_rows(loaded, settings):
    expected = settings.evaluation_entries_size
    everything = [("all", "all", None, expected)]
    # test_suite_score is null where the run had no TEST_SUITE_DIR: that benchmark exists only if some record has it.
    benchmarks = [("spider_strict", "strict_score"), ("spider_test_suite", "test_suite_score")]
    benchmarks = [(b, f) for b, f in benchmarks if f == "strict_score" or any(scores(r, f) for r in loaded.values())]
    rows = []
    for key, records in loaded.items():
        status = status_of(records, len(scores(records, "score")) == expected)
        bases = {base: loaded[base] for base in ("base_3shot", "base_0shot") if base != key}
        rows += model_rows("spider", "score", key, records, status, everything, bases)
        for benchmark, field in benchmarks:
            rows += model_rows(benchmark, field, key, records, status, everything)
        if records is None:
            continue
        levels = {r.get("hardness") for r in records}
        slices = [("hardness", level, level, None) for level in HARDNESS_LEVELS if level in levels]
        slices += [("hardness", level, level, None) for level in sorted(levels - {*HARDNESS_LEVELS, None})]
        if slices and None in levels:  # a file resumed across the change: counted apart, not dropped
            slices.append(("hardness", "(no hardness)", None, None))
        slices += [("database", db_id, db_id, None) for db_id in sorted({r["db_id"] for r in records})]
        rows += model_rows("spider", "score", key, records, status, slices)
        wrong = Counter(error_kind(r) for r in records if r.get("score") == 0)
        error = dict.fromkeys(COLUMNS) | {"benchmark": "spider", "model": key, "group": "error", "status": status}
        rows += [error | {"slice": kind, "n": wrong[kind]} for kind in ERROR_KINDS]
    return rows


def mmlu_rows(loaded, settings, expected):
    total = None if expected is None else sum(expected.values())
    rows = []
    for benchmark, field in (("mmlu", "correct"), ("mmlu_generation", "generated_correct")):
        if not any(scores(records, field) for records in loaded.values()) and benchmark == "mmlu_generation":
            continue  # the generation score was not asked for
        for key, records in loaded.items():
            counts = Counter(r["category"] for r in records or () if r.get(field) is not None)
            status = status_of(records, expected is None or all(counts[c] == n for c, n in expected.items()))
            bases = {"base": loaded["base"]} if key_epoch(key) else None
            slices = [("all", "all", None, total)]
            if records is not None:
                slices += [("category", c, c, None if expected is None else expected[c]) for c in settings.categories]
            found = model_rows(benchmark, field, key, records, status, slices, bases)
            if benchmark == "mmlu_generation" and records is not None:  # generations with no answer letter (wrong)
                found[0]["unparseable"] = sum(
                    r.get("generated_text") is not None and r.get("generated_choice") is None for r in records
                )
            if records is not None:
                # The study's "Agregada": mean of the category accuracies +- their population std, no interval.
                aggregate = stats.aggregate_accuracy([r["accuracy"] for r in found if r["group"] == "category"])
                kept = {name: found[0][name] for name in ("benchmark", "model", "status", "expected_n", "n")}
                found.insert(1, dict.fromkeys(COLUMNS) | kept | {"group": "aggregate", "slice": "all", **aggregate})
            rows += found
    return rows


def expected_per_category(paths, settings):
    """Questions per category this run asks for: MMLU_QUESTIONS_PER_SUBJECT per subject or, with 0 (every test
    question: a count of the data), the prepared test questions of each category. None when those are missing or
    were made with other settings (the MMLU source is not compared): then the n present is all we state."""
    if settings.mmlu_questions_per_subject:
        subjects = list(settings.mmlu_subjects.values())
        return {c: settings.mmlu_questions_per_subject * subjects.count(c) for c in settings.categories}
    try:
        recorded = files.read_json(paths.prepared_manifest)["settings"]
        counts = Counter(item["category"] for item in files.read_json(paths.mmlu_test))
    except (PipelineError, KeyError, TypeError):
        return None
    shaping = ("seed", "mmlu_subjects", "mmlu_shots", "mmlu_questions_per_subject")
    if any(recorded.get(name.upper()) != getattr(settings, name) for name in shaping):
        return None
    return {c: counts[c] for c in settings.categories}


# ---------------------------------------------------------------------------------------------------------------
# The run's facts beside the table


def error_examples(loaded, settings, per_kind=3):
    """The study's III.C error analysis: up to `per_kind` wrong answers of each error kind of the last evaluated
    epoch, drawn with the seed (a random draw, not the first ones: those cluster by database)."""
    present = [epoch for epoch in settings.eval_epochs if loaded.get(model_key(epoch))]
    if not present:
        return None
    key = model_key(max(present))
    wrong = [record for record in loaded[key] if record.get("score") == 0]
    kinds = {}
    for kind in ERROR_KINDS:
        if of_kind := [record for record in wrong if error_kind(record) == kind]:
            # One generator per kind, seeded by the kind too, so adding a kind never reshuffles another's sample.
            chosen = random.Random(f"{settings.seed}-{kind}").sample(of_kind, min(per_kind, len(of_kind)))
            shown = ("index", "db_id", "question", "prediction", "gold", "reason")
            examples = [{name: r.get(name) for name in shown} for r in sorted(chosen, key=lambda r: r["index"])]
            kinds[kind] = {"count": len(of_kind), "examples": examples}
    return {"model": key, "epochs": key_epoch(key), "seed": settings.seed, "wrong": len(wrong), "kinds": kinds}


def read_loss_log(path):
    """(step, loss) pairs of the training loss log, None without one. Rows without a loss (evaluation or
    end-of-training entries) are not points of the curve."""
    if not Path(path).is_file():
        return None
    with Path(path).open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("loss") not in (None, "") and row.get("step")]
    return [(int(float(row["step"])), float(row["loss"])) for row in rows] or None


def results_date(paths):
    """When the newest per-example result was written (not the time of this report: unchanged results, unchanged
    report, so a finished run rebuilt on a read-only folder writes nothing)."""
    found = [*paths.spider_results.glob("*.jsonl"), *paths.mmlu_results.glob("*.jsonl")]
    newest = max((path.stat().st_mtime for path in found if ".stale-" not in path.name), default=None)
    return None if newest is None else datetime.fromtimestamp(newest).strftime("%Y-%m-%d %H:%M")


def leakage_warning(manifest, settings):
    """The warning when the training questions overlap the evaluated ones (TRAIN_SPLIT=dev)."""
    overlap = int((manifest or {}).get("overlap_with_evaluated") or 0)
    if not overlap:
        return None
    evaluated = manifest.get("evaluated_questions") or settings.evaluation_entries_size
    return (
        f"LEAKAGE: {overlap} of the {evaluated} evaluated Spider questions were in the training data (TRAIN_SPLIT="
        f"{manifest.get('config', {}).get('TRAIN_SPLIT') or settings.train_split}); these Spider numbers measure "
        "memorisation, not generalisation."
    )


def collect(paths, settings):
    """What results.json holds: the run's facts and the long table ("rows")."""
    size = settings.evaluation_entries_size
    spider = {key: read_model(paths.results("spider", key), size) for key, _ in settings.spider_models()}
    mmlu = {key: read_model(paths.results("mmlu", key)) for key, _ in settings.mmlu_models()}
    manifest = files.read_json(paths.training_manifest) if paths.training_manifest.exists() else None
    loss = read_loss_log(paths.loss_log)
    config = {name.upper(): list(v) if isinstance(v, tuple) else v for name, v in asdict(settings).items()}
    return {
        "profile": settings.profile,
        "model": settings.model_name,
        "date": results_date(paths),
        "config": {name: v for name, v in config.items() if name not in ("PROFILE", "MODEL_NAME", "MMLU_SUBJECTS")},
        # The split actually trained on is the manifest's; the configured one is only a fallback before training.
        "train_split": (manifest or {}).get("config", {}).get("TRAIN_SPLIT"),
        "training_manifest": manifest,
        "leakage_warning": leakage_warning(manifest, settings),
        "training_loss": loss and {"points": len(loss), "first": list(loss[0]), "last": list(loss[-1])},
        "error_examples": error_examples(spider, settings),
        "rows": spider_rows(spider, settings) + mmlu_rows(mmlu, settings, expected_per_category(paths, settings)),
    }, loss


def build_report(paths, settings):
    """Recompute everything from the per-example files and write report.md, results.json, results.csv,
    tradeoff.png and (with a loss log) training_loss.png, each atomically. Returns what results.json holds."""
    results, loss = collect(paths, settings)
    table = Table(results["rows"])
    files.write_json(paths.results_json, results)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: f"{v:.6f}" if isinstance(v, float) else v for k, v in row.items()} for row in table.rows)
    files.write_text(paths.results_csv, buffer.getvalue())
    plot_tradeoff(table, settings, paths.tradeoff_plot)
    if loss:
        figure, axis = new_plot(f"Training loss ({settings.profile} profile, {len(loss)} logged steps)")
        axis.plot([step for step, _ in loss], [value for _, value in loss], "-", linewidth=1.2)
        save_plot(figure, axis, "Optimizer step", "Training loss (answer tokens)", paths.loss_plot)
    files.write_text(paths.report, Markdown(results, table, settings, paths).render())
    return results


# ---------------------------------------------------------------------------------------------------------------
# Drawn from the table: plots and markdown


class Table:
    """Lookups in the long table: get(...) is the row of one slice (against `versus` when given), or None."""

    def __init__(self, rows):
        self.rows = rows

    def get(self, benchmark, model, group="all", slice_="all", versus=None):
        wanted = (benchmark, model, group, slice_)
        matches = (r for r in self.rows if (r["benchmark"], r["model"], r["group"], r["slice"]) == wanted)
        return next((r for r in matches if versus in (None, r["versus"])), None)

    def slices(self, benchmark, group):
        return list(dict.fromkeys(r["slice"] for r in self.rows if (r["benchmark"], r["group"]) == (benchmark, group)))

    def accuracy(self, *where):
        return (self.get(*where) or {}).get("accuracy")


def new_plot(title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return figure, axis


def save_plot(figure, axis, xlabel, ylabel, path):
    """Label, then save as PNG like every handed-off file (atomically, only if it changed), and close."""
    import matplotlib.pyplot as plt

    axis.set(xlabel=xlabel, ylabel=ylabel)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=120)
    plt.close(figure)
    files.write_bytes(path, image.getvalue())


def plot_tradeoff(table, settings, path):
    """Spider (base 0-shot at epoch 0, the like-for-like start) and MMLU (all items) by epoch, with 95% CIs; the
    study's few-shot Spider baseline, another prompt, as a point apart. Small x shifts keep the bars apart."""
    figure, axis = new_plot(f"Spider vs MMLU trade-off ({settings.profile} profile)")
    lora = [(epoch, model_key(epoch)) for epoch in settings.eval_epochs]
    baseline = f"Spider base {settings.baseline_shots}-shot (study baseline)"
    for benchmark, points, label, style in (
        ("spider", [(0, "base_0shot"), *lora], "Spider execution accuracy (0-shot prompt)", {"fmt": "o-"}),
        ("mmlu", [(0.08, "base"), *((x + 0.08, key) for x, key in lora)], "MMLU accuracy (all items)", {"fmt": "s-"}),
        ("spider", [(-0.08, "base_3shot")], baseline, {"fmt": "D", "color": "gray"}),
    ):
        if found := [(x, r) for x, key in points if (r := table.get(benchmark, key)) and r["accuracy"] is not None]:
            xs, rows = zip(*found)
            ys = [r["accuracy"] for r in rows]
            errors = [[y - r["ci_low"] for y, r in zip(ys, rows)], [r["ci_high"] - y for y, r in zip(ys, rows)]]
            axis.errorbar(xs, ys, yerr=errors, capsize=4, label=label, **style)
    axis.set_xticks([0, *settings.eval_epochs])
    axis.set_ylim(0, 1)
    save_plot(figure, axis, "Epochs of LoRA fine-tuning (0 = base model)", "Accuracy (95% Wilson CI)", path)


def fmt(value, digits=3, sign=""):
    return "—" if value is None else f"{value:{sign}.{digits}f}"


def fmt_ci(row, low="ci_low", high="ci_high", sign=""):
    return "—" if row[low] is None else f"[{row[low]:{sign}.3f}, {row[high]:{sign}.3f}]"


def fmt_p(row):
    return (
        "—"
        if (row or {}).get("n_paired") is None
        else f"{row['p_value']:.4f} (b={row['b']}, c={row['c']}, n={row['n_paired']})"
    )


def fmt_change(value):
    # round first: a float residue of an unchanged aggregate (-1e-14) must not print as "-0.0%"
    return "—" if value is None else f"{round(value, 1) + 0.0:+.1f}%"


def fmt_points(value, sign="+"):
    """An accuracy difference in percentage points."""
    return "—" if value is None else f"{round(100 * value, 1) + 0.0:{sign}.1f} pts"


def fmt_summary(row):
    """Accuracy [95% CI] (n=...): one cell of a breakdown table."""
    return "—" if row is None or row["accuracy"] is None else f"{row['accuracy']:.3f} {fmt_ci(row)} (n={row['n']})"


def fmt_rate(row):
    return "—" if row["p_discordant"] is None else f"{row['p_discordant']:.3f} ({row['p_discordant_source']})"


def inline_code(text):
    """Text as one inline code span: newlines folded, the fence longer than any backtick run inside (SQLite
    accepts `quoted` identifiers), pipes escaped so a table cell or list item is not split."""
    text = " ".join(str(text or "").split()).replace("|", "\\|")
    if "`" not in text:
        return f"`{text}`" if text else "(empty)"
    fence = "`" * (max(map(len, re.findall("`+", text))) + 1)
    return f"{fence} {text} {fence}"


def markdown_table(header, rows):
    line = lambda cells: "| " + " | ".join(map(str, cells)) + " |"  # noqa: E731
    return [line(header), "|" + "---|" * len(header), *map(line, rows), ""]


COMPARISON_HEADER = ["n", "b (base only right)", "c (model only right)", "δ accuracy, model − base [95% CI]"]
COMPARISON_HEADER += ["McNemar p", "p_d (discordance)", "Detectable at 80% power", "Reading"]


def comparison_cells(row):
    """n, b, c, δ [CI], p, p_d, detectable, reading of one paired test ("missing" without one)."""
    if (row or {}).get("n_paired") is None:
        return ["missing"] + ["—"] * 7
    difference = fmt(row["difference"], sign="+")
    if row["difference_ci_low"] is not None:
        difference += " " + fmt_ci(row, "difference_ci_low", "difference_ci_high", "+")
    detectable = row["minimum_detectable_difference"]
    detectable = "not reachable" if detectable is None and row["p_discordant"] else fmt_points(detectable, "")
    cells = [row["n_paired"], row["b"], row["c"], difference, f"{row['p_value']:.4f}", fmt_rate(row)]
    return cells + [detectable, row["reading"]]


class Markdown:
    """report.md: formatting only, every number read from the long table."""

    def __init__(self, results, table, settings, paths):
        self.results, self.table, self.settings, self.paths = results, table, settings, paths

    def render(self):
        sections = (self.header, self.spider, self.breakdowns, self.errors, self.mmlu, self.table_iii)
        return "\n".join(line for section in (*sections, self.sample_sizes, self.figures) for line in section())

    def by_model(self, benchmark, models, width, cells):
        """A table's rows, one per model: cells(key, row), or, where its file is missing, "missing (run X)" after
        the first of them (its label, and its epochs where `cells` starts with them) and dashes to the width."""
        rows = []
        for key, label in models:
            row = self.table.get(benchmark, key)
            if row["status"] != "missing":
                rows.append(cells(key, row))
                continue
            lead = [label] + [key_epoch(key)] * benchmark.startswith("spider")
            path = self.paths.results("mmlu" if benchmark.startswith("mmlu") else "spider", key)
            rows.append(lead + [f"missing (run {self.paths.producer(path)})"] + ["—"] * (width - len(lead) - 1))
        return rows

    def header(self):
        results, manifest, split = self.results, self.results["training_manifest"], self.results["train_split"]
        lines = [f"# Report — QLoRA fine-tuning of {Path(results['model']).name} on Spider", ""]
        lines += [f"- Profile: **{results['profile']}**", f"- Model: `{results['model']}`"]
        lines += [f"- Results as of: {results['date'] or 'no results yet'}", "", "```"]
        for name, value in results["config"].items():
            # The adapters may come from a run with another split than the one configured now: the manifest decides.
            trained = f"  # configured now; the adapters were trained on {split}" if split not in (None, value) else ""
            lines.append(f"{name} = {value}" + (trained if name == "TRAIN_SPLIT" else ""))
        lines += ["```", ""]
        if results["profile"] == "demo":
            lines += [
                "> Demo profile: these numbers come from a tiny local model and project-made data; they prove "
                "the pipeline, not the science.",
                "",
            ]
        if manifest is None:
            text = f"manifest missing (run {SCRIPTS[1]}); configured TRAIN_SPLIT = {self.settings.train_split}"
        else:
            text = f"train split **{split}**, {manifest.get('train_examples')} examples, " + (
                f"{manifest.get('dropped_too_long')} dropped as too long, overlap with the evaluated questions: "
                f"{manifest.get('overlap_with_evaluated')}"
                + ("" if manifest.get("finished") else " — training NOT finished")
            )
        lines += [f"Training: {text}.", ""]
        return lines + ([f"> **⚠ {results['leakage_warning']}**", ""] if results["leakage_warning"] else [])

    def spider(self):
        table, settings, models = self.table, self.settings, self.settings.spider_models()
        databases = sorted(table.slices("spider", "database"))
        sample = f"the evaluated questions cover {len(databases)} database(s): {', '.join(databases)}"
        lines = ["## Spider (text-to-SQL)", "", f"Sample: {sample if databases else 'no Spider results yet'}."]
        suite = bool(table.slices("spider_test_suite", "all"))
        header = ["Model", "Epochs", "Accuracy", "Std", "95% CI", "Strict accuracy (official rules)"]
        header += ["Test-suite accuracy (official test-suite databases)"] * suite
        header += ["McNemar p vs base 3-shot", "McNemar p vs base 0-shot"]

        def cells(key, row):
            strict, scored = table.get("spider_strict", key), table.get("spider_test_suite", key)
            partial = "" if row["n"] == row["expected_n"] else f" (n={row['n']} of {row['expected_n']})"
            found = [dict(models)[key], key_epoch(key), fmt(row["accuracy"]) + partial, fmt(row["std"]), fmt_ci(row)]
            found.append(f"{fmt(strict['accuracy'])} {fmt_ci(strict)}")
            if suite:  # only the records scored on the test-suite databases count: their own n where it differs
                n = "" if scored["n"] == row["n"] else f" (n={scored['n']})"
                found.append(f"{fmt(scored['accuracy'])} {fmt_ci(scored)}{n}")
            return found + [fmt_p(table.get("spider", key, versus=base)) for base in ("base_3shot", "base_0shot")]

        lines[-1] += " " + STUDY_SAMPLE_NOTE
        lines += ["", f"### Table I — Spider execution accuracy (std with ddof={stats.SPIDER_STD_DDOF}, as the study)"]
        lines += ["", *markdown_table(header, self.by_model("spider", models, len(header), cells))]
        lines += [TEST_SUITE_NOTE, ""] * suite
        last = model_key(max(settings.eval_epochs)) if settings.eval_epochs else None
        changes = []
        for base in ("base_3shot", "base_0shot"):
            before, after = table.accuracy("spider", base), table.accuracy("spider", last)
            reading = (table.get("spider", last, versus=base) or {}).get("reading")
            points = fmt_points(None if before is None or after is None else after - before)
            changes.append(
                f"{fmt_change(stats.percent_change(before, after))} ({points})" + f": {reading}" * bool(reading)
            )
        name = f"LoRA epoch {key_epoch(last)}" if last else "the last epoch"
        lines += [
            f"Δ accuracy, base 3-shot → {name} (the study's Δ, relative): {changes[0]}; base 0-shot (same prompt) → "
            f"{name}: {changes[1]}. A relative change is undefined (—) where the base accuracy is 0; the reading is "
            "Table I-b's paired test.",
            "",
            "### Table I-b — Spider: each fine-tuned model against the base model, paired on the same questions",
            "",
        ]
        pairs = [(epoch, base) for epoch in settings.eval_epochs for base in ("base_0shot", "base_3shot")]
        rows = [
            [f"LoRA epoch {e}", v, *comparison_cells(table.get("spider", model_key(e), versus=v))] for e, v in pairs
        ]
        return lines + markdown_table(["Model", "vs", *COMPARISON_HEADER], rows) + [DESIGN_NOTE, ""]

    def breakdowns(self):
        """Tables I-c and I-d: accuracy per hardness level and per database, a column per Spider model present."""
        models = [
            (k, label) for k, label in self.settings.spider_models() if self.table.get("spider", k)["n"] is not None
        ]
        header = [label + f" epoch {key_epoch(key)}" * bool(key_epoch(key)) for key, label in models]
        lines, get = [], self.table.get
        old = "these records carry no hardness level: they were made before it was recorded; re-run scripts 2 and 3"
        for group, title, none in (
            ("hardness", "I-c — Spider execution accuracy by hardness (official levels)", old),
            ("database", "I-d — Spider execution accuracy by database", "no Spider results yet"),
        ):
            slices = self.table.slices("spider", group)
            rows = [[s] + [fmt_summary(get("spider", key, group, s)) for key, _ in models] for s in slices]
            lines += [f"### Table {title} [95% CI] (n)", ""]
            lines += markdown_table([group.capitalize(), *header], rows) if rows else [f"— ({none}).", ""]
        return lines

    def errors(self):
        models = self.settings.spider_models()

        def counts(key, row):
            kinds = [self.table.get("spider", key, "error", kind)["n"] for kind in ERROR_KINDS]
            return [dict(models)[key], key_epoch(key), row["n"], row["correct"], *kinds]

        lines = ["### Spider errors (wrong answers by kind, study rule)", ""]
        header = ["Model", "Epochs", "n", "Correct", *ERROR_KINDS]
        lines += markdown_table(header, self.by_model("spider", models, len(header), counts))
        lines += ["### Error analysis — examples of each kind of error (as the study's section III.C)", ""]
        examples = self.results["error_examples"]
        if examples is None:
            return lines + ["No fine-tuned model's Spider results yet: no errors to show.", ""]
        lines += [
            f"LoRA epoch {examples['epochs']} (the last evaluated epoch): {examples['wrong']} wrong answers; up "
            f"to three of each kind drawn with seed {examples['seed']}.",
            "",
        ]
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
        return lines + ([] if examples["kinds"] else ["No wrong answers.", ""])

    def mmlu(self):
        table, models, categories = self.table, self.settings.mmlu_models(), self.settings.categories
        names = [STUDY_LABELS.get(c, c) for c in categories]
        lines = [
            "## MMLU (generalisation, 4-shot)",
            "",
            f"Prompt format: **{self.settings.mmlu_prompt_format}** (MMLU_PROMPT_FORMAT). Per category: accuracy ± "
            f"std (ddof={stats.MMLU_STD_DDOF}, as the study) [95% Wilson CI]. Two aggregates, labelled: the study's "
            "(mean of the category accuracies ± their population std) and the micro average over all questions "
            "(differs from the study's when categories have different sizes).",
            "",
        ]
        header = ["Model", "n", "Aggregate (study: mean of categories ± population std)"]
        header += ["Micro average (all questions) [95% CI]", *names, "McNemar p vs base (all items)"]
        benchmarks = [b for b in ("mmlu", "mmlu_generation") if table.slices(b, "all")]
        titles = ("", "letter log-probabilities"), ("-b", "the answer parsed from a short greedy generation")
        for benchmark, (letter, what) in zip(benchmarks, titles):

            def cells(key, row, benchmark=benchmark):
                aggregate, expected = table.get(benchmark, key, "aggregate"), row["expected_n"]
                n = f"n={row['n']}" if expected is None else f"{row['n']}" + f" of {expected}" * (row["n"] != expected)
                found = [dict(models)[key], n, f"{fmt(aggregate['accuracy'])} ± {fmt(aggregate['std'])}"]
                found.append(f"{fmt(row['accuracy'])} {fmt_ci(row)}")
                for c in (table.get(benchmark, key, "category", category) for category in categories):
                    found.append(f"{fmt(c['accuracy'])} ± {fmt(c['std'])} {fmt_ci(c)}" + " (no items)" * (not c["n"]))
                return found + [fmt_p(row)]

            lines += [f"### Table II{letter} — MMLU accuracy by category ({what})", ""]
            lines += markdown_table(header, self.by_model(benchmark, models, len(header), cells))
            if benchmark == "mmlu_generation":
                rows = [(label, table.get(benchmark, key)) for key, label in models]
                counts = [f"{label} {r['unparseable']} of {r['n']}" for label, r in rows if r["status"] != "missing"]
                lines += [f"Generations with no parseable answer (counted wrong): {'; '.join(counts) or '—'}.", ""]
        titles = ("II-c — MMLU: each", "II-d — MMLU scored by generation (Table II-b): each")
        for benchmark, title in zip(benchmarks, titles):
            rows = []
            for epoch in self.settings.eval_epochs:
                key, label = model_key(epoch), f"LoRA epoch {epoch}"
                rows.append([label, "all", *comparison_cells(table.get(benchmark, key))])
                if table.get(benchmark, key)["status"] != "missing":
                    for category, name in zip(categories, names):
                        rows.append([label, name, *comparison_cells(table.get(benchmark, key, "category", category))])
            lines += [f"### Table {title} fine-tuned model against the base model, paired on the same questions", ""]
            lines += markdown_table(["Model", "Category", *COMPARISON_HEADER], rows)
        return lines

    def table_iii(self):
        table, epochs = self.table, self.settings.eval_epochs
        header = ["Categoria", "Base"]
        for epoch in epochs:
            header += [f"LoRA {epoch} épocas", "Variação (%)", f"Reading (paired, epoch {epoch})"]
        rows = []
        for category in [*self.settings.categories, "Agregada"]:
            where = ("aggregate", "all") if category == "Agregada" else ("category", category)
            # The reading of the aggregate's change is that of all questions (the study's aggregate has no test).
            tested = ("all", "all") if category == "Agregada" else where
            base = table.accuracy("mmlu", "base", *where)
            cells = [STUDY_LABELS.get(category, category), fmt(base)]
            for key in map(model_key, epochs):
                new, test = table.accuracy("mmlu", key, *where), table.get("mmlu", key, *tested) or {}
                cells += [fmt(new), fmt_change(stats.percent_change(base, new)), test.get("reading") or "—"]
            rows.append(cells)
        lines = ["### Table III — Variação percentual de acurácia por categoria (MMLU, base → LoRA)", ""]
        lines += markdown_table(header, rows)
        lines += [
            "Reading: the paired comparison of Table II-c on the same questions (for Agregada, all of them), a "
            "direction only where the 95% interval of the difference excludes 0.",
            "",
            "### Reading",
            "",
        ]
        base = table.get("mmlu", "base", "aggregate")
        for key in map(model_key, epochs):
            test, model = table.get("mmlu", key), table.get("mmlu", key, "aggregate")
            if base is None or model is None or test["difference"] is None:
                lines.append(f"- {key}: no test (base or model results missing).")
                continue
            detectable = test["minimum_detectable_difference"]
            power = f"the smallest difference detectable at 80% power is {fmt_points(detectable, '')}"
            lines.append(
                f"- LoRA epoch {key_epoch(key)}: MMLU micro average {test['difference']:+.3f} "
                f"{fmt_ci(test, 'difference_ci_low', 'difference_ci_high', '+')} vs base (study aggregate "
                f"{model['accuracy'] - base['accuracy']:+.3f}; McNemar p = {test['p_value']:.4f}, b = {test['b']}, "
                f"c = {test['c']}, n = {test['n_paired']}): {test['reading']}; "
                f"{power if detectable else 'at this n no difference reaches 80% power'}."
            )
        return lines + [""]

    def sample_sizes(self):
        lines = ["## How many questions would be needed", ""]
        if not self.settings.eval_epochs:
            return lines + ["No fine-tuned model to compare with the base model (EVAL_EPOCHS is empty).", ""]
        lines += [
            f"Paired questions for the exact McNemar test to detect a difference in accuracy of "
            f"{', '.join(map(str, SAMPLE_SIZE_POINTS))} points with 80% power at α = 0.05 (two-sided), at each "
            "comparison's discordance rate p_d (design as above). A difference larger than p_d cannot occur at that "
            "rate (—).",
            "",
        ]
        rows = []
        for benchmark, name in (("spider", "Spider"), ("mmlu", "MMLU"), ("mmlu_generation", "MMLU (generation)")):
            for epoch in self.settings.eval_epochs if self.table.slices(benchmark, "all") else ():
                for base in ("base_0shot", "base_3shot") if benchmark == "spider" else ("base",):
                    row = self.table.get(benchmark, model_key(epoch), versus=base)
                    needed = [fmt(row[f"n_for_{points}pt"], 0) for points in SAMPLE_SIZE_POINTS]
                    n_now = "missing" if row["n_paired"] is None else row["n_paired"]
                    rows.append([name, f"LoRA epoch {epoch} vs {base}", n_now, fmt_rate(row), *needed])
        header = ["Benchmark", "Comparison", "n now", "p_d", *(f"{points} pt" for points in SAMPLE_SIZE_POINTS)]
        return lines + markdown_table(header, rows)

    def figures(self):
        loss, paths = self.results["training_loss"], self.paths
        lines = ["## Figures", "", f"- `{paths.tradeoff_plot.name}` — Spider and MMLU accuracy by epoch with 95% CIs."]
        if not loss:
            return lines + [f"- Training loss: missing (run {SCRIPTS[1]}); no loss log at `{paths.loss_log}`.", ""]
        (first_step, first), (last_step, last) = loss["first"], loss["last"]
        return lines + [
            f"- `{paths.loss_plot.name}` — training loss by step ({loss['points']} logged steps; {first:.4f} at step "
            f"{first_step}, {last:.4f} at step {last_step}).",
            "",
        ]
