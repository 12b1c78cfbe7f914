"""The study's Tables I-III recomputed from the per-example result files, plus what it lacked. One long table (a row
per benchmark x model x slice x base compared with) is results.csv; results.json adds the run's facts; report.md and
the plots read it. A half-finished run reports what it has, with its n; a missing file reads "missing (run X)", not 0.
"""

import csv
import io
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, make_dataclass
from datetime import datetime
from pathlib import Path

from tradeoff import PipelineError, files, mmlu, stats
from tradeoff.files import SCRIPTS, key_epoch, model_key
from tradeoff.sql_sandbox import ERROR_KINDS

# The data's categories are MMLU's own; the study's labels (and its column order) appear only in the markdown.
CI, POWER = f"{stats.CONFIDENCE_LEVEL:.0%}", f"{stats.POWER:.0%}"  # as the report prints them
STUDY_LABELS = {"STEM": "STEM", "social sciences": "Ciências Sociais", "humanities": "Humanidades", "other": "Outras"}
HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")  # the official evaluator's order
NO_LEVEL = "(gold not parsed)"  # hardness.hardness gives no level to a gold query sqlglot cannot read
SAMPLE_SIZE_POINTS = (1, 2, 5, 10)  # "how many questions would be needed" for these differences, in points
# The long table's columns: its field names live here only. group: all (every item), aggregate (the study's MMLU
# mean of the category accuracies), category, database, hardness, error (n: the wrong answers of that kind).
COLUMNS = tuple(
    "benchmark model group slice status expected_n n correct accuracy std ci_low ci_high versus n_paired b c p_value "
    "difference difference_ci_low difference_ci_high reading p_discordant p_discordant_source "
    "minimum_detectable_difference".split()
) + (*(f"n_for_{points}pt" for points in SAMPLE_SIZE_POINTS), "unparseable")
STUDY_SAMPLE_NOTE = (
    "The study's first 150 dev questions cover only three databases (concert_singer, pets_1, car_1); "
    "the full dev set (1034 questions, 20 databases) is the number to publish."
)
TEST_SUITE_NOTE = (
    "Published fine-tuning results on Spider dev (e.g. 0.662 for Qwen-7B-Chat with QLoRA) are test-suite "
    "figures (the official test-suite databases and rules): compare them with the test-suite column only."
)
DEMO_NOTE = (
    "> Demo profile: these numbers come from a tiny local model and project-made data; they prove the pipeline, "
    "not the science."
)
DESIGN_NOTE = (
    "Power design: n paired questions, each discordant (one model right, the other wrong) with probability "
    "p_d; δ = p01 − p10 (model right only minus base right only), so |δ| ≤ p_d. *Detectable*: the smallest "
    f"|δ| the exact two-sided McNemar test at α = {stats.ALPHA} finds with {POWER} power, summed exactly over "
    "the binomial number of discordant pairs (*not reachable*: not even |δ| = p_d). p_d is the observed (b + "
    "c)/n or, with no discordant pair, *assumed* 2p(1 − p) at the base accuracy p (independent errors: an "
    f"upper bound when both models fail on the same questions; — at p = 0 or 1). The {CI} interval of δ is "
    "Newcombe's hybrid score interval (1998, method 10); where it includes 0 the difference is *not "
    "distinguishable from no change at this sample size*. Near the margin the interval and the exact test "
    "(conservative at small b + c) can disagree: both are shown."
)
GROUP_FIELD = {"hardness": "hardness", "database": "db_id", "category": "category"}  # the record field of a slice
COMPARISON_HEADER = ["n", "b (base only right)", "c (model only right)", f"δ accuracy, model − base [{CI} CI]"]
COMPARISON_HEADER += ["McNemar p", "p_d (discordance)", f"Detectable at {POWER} power", "Reading"]


# The settings the report reads, each the lower-case name of a setting of the configuration, in the report's order.
SETTING_NAMES = (
    "profile model_name load_in_4bit bnb_4bit_quant_type bnb_4bit_use_double_quant compute_dtype seed train_split "
    "evaluation_entries_size eval_epochs baseline_shots max_new_tokens inference_engine mmlu_shots "
    "mmlu_questions_per_subject mmlu_subjects mmlu_prompt_format mmlu_generation_score mmlu_generation_tokens"
).split()


class ReportSettings(make_dataclass("ReportSettings", SETTING_NAMES, frozen=True)):
    @classmethod
    def of(cls, config):
        return cls(**{name: getattr(config, name.upper()) for name in SETTING_NAMES})

    @property
    def categories(self):
        """The MMLU categories evaluated: the study's in its order, then the others in subject order."""
        present = list(dict.fromkeys(self.mmlu_subjects.values()))
        return [c for c in STUDY_LABELS if c in present] + [c for c in present if c not in STUDY_LABELS]

    def spider_models(self):
        name = Path(self.model_name).name
        bases = [("base_3shot", f"{name} (base, {self.baseline_shots}-shot)"), ("base_0shot", f"{name} (base, 0-shot)")]
        return bases + [(model_key(epoch), f"{name}-LoRA") for epoch in self.eval_epochs]

    def mmlu_models(self):
        return [("base", "Base")] + [(model_key(epoch), f"LoRA ({epoch} épocas)") for epoch in self.eval_epochs]


def read_model(path, size=None):
    """A model's records in index order, the first `size` only (records past a lowered EVALUATION_ENTRIES_SIZE or a
    smaller MMLU sample stay in the file, unreported); None when its file is missing."""
    if not Path(path).exists():
        return None
    return sorted((r for r in files.read_records(path) if size is None or r["index"] < size), key=lambda r: r["index"])


def scores(records, field):
    return [record[field] for record in records or () if record.get(field) is not None]


def new_row(**values):
    return dict.fromkeys(COLUMNS) | values


def status_of(records, complete):
    """missing, ok, incomplete, or unknown where the number of questions asked for cannot be known (complete None)."""
    return "missing" if records is None else {True: "ok", False: "incomplete", None: "unknown"}[complete]


def model_rows(benchmark, field, key, records, status, slices, bases=None):
    """Per slice (group, value, expected n), the summary of `field` and the paired test against each of `bases`."""
    ddof = stats.MMLU_STD_DDOF if benchmark.startswith("mmlu") else stats.SPIDER_STD_DDOF
    rows = []
    for group, value, expected in slices:
        name = NO_LEVEL if value is None else value  # only a hardness can be missing
        row = new_row(benchmark=benchmark, model=key, group=group, slice=name, status=status, expected_n=expected)
        part = records if group == "all" else [r for r in records if r.get(GROUP_FIELD[group]) == value]
        if part is not None:
            row |= stats.summarize_scores(scores(part, field), ddof)
        for versus, base in (bases or {None: None}).items():
            test = {"versus": versus}
            if part is not None and base is not None:
                base_scores = {r["index"]: r[field] for r in base if r.get(field) is not None}
                both = [r for r in part if r["index"] in base_scores and r.get(field) is not None]
                test |= stats.paired_comparison([base_scores[r["index"]] for r in both], scores(both, field))
                if group == "all" and key_epoch(key) and test["p_discordant"]:  # the planning figures
                    for points in SAMPLE_SIZE_POINTS:
                        test[f"n_for_{points}pt"] = stats.sample_size_for(points / 100, test["p_discordant"])
            rows.append(row | test)
    return rows


def spider_rows(loaded, expected):
    # test_suite_score is null where the run had no TEST_SUITE_DIR: that benchmark exists only if some record has it.
    benchmarks = {"spider": "score", "spider_strict": "strict_score"}
    if any(scores(records, "test_suite_score") for records in loaded.values()):
        benchmarks["spider_test_suite"] = "test_suite_score"
    rows = []
    for key, records in loaded.items():
        state = status_of(records, len(scores(records, "score")) == expected)
        bases = {base: loaded[base] for base in ("base_3shot", "base_0shot") if base != key}
        for benchmark, field in benchmarks.items():
            paired = bases if field == "score" else None
            rows += model_rows(benchmark, field, key, records, state, [("all", "all", expected)], paired)
        if records is None:
            continue
        levels = {r["hardness"] for r in records}
        slices = [("hardness", level, None) for level in (*HARDNESS_LEVELS, None) if level in levels]
        slices += [("database", db_id, None) for db_id in sorted({r["db_id"] for r in records})]
        rows += model_rows("spider", "score", key, records, state, slices)
        wrong = Counter(r["error_kind"] for r in records if r["score"] == 0)
        error = {"benchmark": "spider", "model": key, "group": "error", "status": state}
        rows += [new_row(**error, slice=kind, n=wrong[kind]) for kind in ERROR_KINDS]
    return rows


def mmlu_rows(loaded, categories, expected):
    rows = []
    for benchmark, field in (("mmlu", "correct"), ("mmlu_generation", "generated_correct")):
        if benchmark == "mmlu_generation" and not any(scores(records, field) for records in loaded.values()):
            continue  # the generation score was not asked for
        for key, records in loaded.items():
            counts = Counter(r["category"] for r in records or () if r.get(field) is not None)
            state = status_of(records, None if expected is None else all(counts[c] == n for c, n in expected.items()))
            slices = [("all", "all", None if expected is None else sum(expected.values()))]
            if records is not None:
                slices += [("category", c, None if expected is None else expected[c]) for c in categories]
            bases = {"base": loaded["base"]} if key_epoch(key) else None
            found = model_rows(benchmark, field, key, records, state, slices, bases)
            if records is not None:
                # The study's "Agregada": mean of the category accuracies +- their population std, no interval.
                aggregate = stats.aggregate_accuracy([r["accuracy"] for r in found if r["group"] == "category"])
                kept = {name: found[0][name] for name in ("benchmark", "model", "status", "expected_n", "n")}
                found.insert(1, new_row(**kept, group="aggregate", slice="all", **aggregate))
                if benchmark == "mmlu_generation":  # generations with no answer letter, scored wrong
                    found[0]["unparseable"] = sum(
                        r.get("generated_text") is not None and r.get("generated_choice") is None for r in records
                    )
            rows += found
    return rows


def expected_per_category(paths, settings):
    """Questions per category asked for: per subject or, with 0, the prepared ones (None if missing or stale)."""
    if settings.mmlu_questions_per_subject:
        subjects = list(settings.mmlu_subjects.values())
        return {c: settings.mmlu_questions_per_subject * subjects.count(c) for c in settings.categories}
    try:
        recorded = files.read_json(paths.prepared_manifest)["settings"]
        counts = Counter(item["category"] for item in files.read_json(paths.mmlu_test))
    except (PipelineError, KeyError, TypeError):
        return None
    if any(recorded.get(name) != getattr(settings, name.lower()) for name in mmlu.PREPARATION_SETTINGS):
        return None
    return {c: counts[c] for c in settings.categories}


def error_examples(loaded, settings, per_kind=3):
    """Study III.C: `per_kind` wrong answers per kind of the last epoch, seeded (the first ones cluster by database)."""
    present = [epoch for epoch in settings.eval_epochs if loaded.get(model_key(epoch))]
    if not present:
        return None
    key = model_key(max(present))
    wrong = [record for record in loaded[key] if record.get("score") == 0]
    kinds = {}
    for kind in ERROR_KINDS:
        if of_kind := [record for record in wrong if record["error_kind"] == kind]:
            # One generator per kind, seeded by the kind too, so adding a kind never reshuffles another's sample.
            chosen = random.Random(f"{settings.seed}-{kind}").sample(of_kind, min(per_kind, len(of_kind)))
            shown = ("index", "db_id", "question", "prediction", "gold", "reason")
            examples = [{name: r.get(name) for name in shown} for r in sorted(chosen, key=lambda r: r["index"])]
            kinds[kind] = {"count": len(of_kind), "examples": examples}
    found = {"model": key, "epochs": key_epoch(key), "seed": settings.seed, "per_kind": per_kind}
    return found | {"wrong": len(wrong), "kinds": kinds}


def stale_results(paths, settings, manifest):
    """{(benchmark, key): why} for the results files made with other inputs (made_with's: prepared files, model,
    loading, settings) or another adapter than those of now, unreported until their script runs again. What a file
    does not record, or is gone now, is not compared."""
    stale = {}
    for benchmark, models in (("spider", settings.spider_models()), ("mmlu", settings.mmlu_models())):
        now = paths.prepared_sha256(benchmark) | {name.upper(): value for name, value in asdict(settings).items()}
        for key, _ in models:
            made_with, epoch = files.read_object(files.made_with_path(paths.results(benchmark, key))), key_epoch(key)
            recorded = made_with.get("inputs") or {}
            changed = [name for name, value in recorded.items() if now.get(name) not in (None, value)]
            adapter_sha256 = made_with.get("adapter_sha256") if epoch and manifest else None
            folder = adapter_sha256 and manifest.get("epochs", {}).get(str(epoch))
            adapter = paths.lora / str(folder) / "adapter_model.safetensors"
            if changed:
                stale[benchmark, key] = f"made with other {', '.join(changed)} than those of now"
            elif adapter_sha256 and not folder:
                stale[benchmark, key] = f"the training run now has no epoch {epoch}"
            elif adapter_sha256 and adapter.exists() and files.sha256_file(adapter) != adapter_sha256:
                stale[benchmark, key] = f"made with another adapter than epoch {epoch}'s now"
    return stale


def prepared_count(path):
    """How many entries a prepared file holds, None if it is missing or unreadable."""
    try:
        return len(files.read_json(path))
    except PipelineError:
        return None


def collect(paths, settings):
    # The evaluations end where the prepared sets end: records past that are of an earlier, larger set, kept unused.
    size = min(settings.evaluation_entries_size, prepared_count(paths.spider_dev) or settings.evaluation_entries_size)
    manifest = files.read_json(paths.training_manifest) if paths.training_manifest.exists() else {}
    stale = stale_results(paths, settings, manifest)
    questions = prepared_count(paths.mmlu_test)
    spider = {key: read_model(paths.results("spider", key), size) for key, _ in settings.spider_models()}
    mmlu = {key: read_model(paths.results("mmlu", key), questions) for key, _ in settings.mmlu_models()}
    for benchmark, key in stale:  # reported as stale, not as numbers
        (spider if benchmark == "spider" else mmlu)[key] = None
    log = csv.DictReader(paths.loss_log.read_text(encoding="utf-8").splitlines()) if paths.loss_log.is_file() else ()
    loss = [(int(row["step"]), float(row["loss"])) for row in log if row["loss"]] or None
    # Dated by the newest result, not the clock: unchanged results, unchanged report.
    found = [*paths.spider_results.glob("*.jsonl"), *paths.mmlu_results.glob("*.jsonl")]
    newest = max((path.stat().st_mtime for path in found if files.STALE_MARK not in path.name), default=None)
    # The split actually trained on is the manifest's; the configured one is only a fallback before training.
    split, overlap = manifest.get("config", {}).get("TRAIN_SPLIT"), manifest.get("overlap_with_evaluated")
    evaluated = manifest.get("evaluated_questions") or size
    leakage = (
        f"LEAKAGE: {overlap} of the {evaluated} evaluated Spider questions were in the training data (TRAIN_SPLIT="
        f"{split or settings.train_split}); these Spider numbers measure memorisation, not generalisation."
    )
    config = {name.upper(): list(v) if isinstance(v, tuple) else v for name, v in asdict(settings).items()}
    rows = spider_rows(spider, size) + mmlu_rows(mmlu, settings.categories, expected_per_category(paths, settings))
    for row in rows:
        if (row["benchmark"].partition("_")[0], row["model"]) in stale:  # spider_strict, mmlu_generation...
            row["status"] = "stale"
    return {
        "profile": settings.profile,
        "model": settings.model_name,
        "date": None if newest is None else datetime.fromtimestamp(newest).strftime("%Y-%m-%d %H:%M"),
        "config": {name: v for name, v in config.items() if name not in ("PROFILE", "MODEL_NAME", "MMLU_SUBJECTS")},
        "train_split": split,
        "training_manifest": manifest or None,
        "leakage_warning": leakage if overlap else None,
        "training_loss": loss and {"points": len(loss), "first": list(loss[0]), "last": list(loss[-1])},
        "error_examples": error_examples(spider, settings),
        "stale": {f"{benchmark} {key}": why for (benchmark, key), why in stale.items()},
        "rows": rows,
    }, loss


def build_report(paths, settings):
    """Write results.json, results.csv, the plots and report.md; return what results.json holds."""
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
        steps, values = zip(*loss)
        title = f"Training loss ({settings.profile} profile, {len(loss)} logged steps)"
        curve = [(steps, values, None, {"fmt": "-", "linewidth": 1.2})]
        save_plot(paths.loss_plot, title, curve, xlabel="Optimizer step", ylabel="Training loss (answer tokens)")
    files.write_text(paths.report, Markdown(results, table, settings, paths).render())
    return results


@dataclass
class Table:
    """Lookups in the long table: get(...) is the row of one slice (against `versus` when given), or None."""

    rows: list

    def get(self, benchmark, model, group="all", slice_="all", versus=None):
        wanted = (benchmark, model, group, slice_)
        matches = (r for r in self.rows if (r["benchmark"], r["model"], r["group"], r["slice"]) == wanted)
        return next((r for r in matches if versus in (None, r["versus"])), None)

    def slices(self, benchmark, group):
        return list(dict.fromkeys(r["slice"] for r in self.rows if (r["benchmark"], r["group"]) == (benchmark, group)))

    def accuracy(self, *where):
        return (self.get(*where) or {}).get("accuracy")

    def paired(self, benchmark, groups=("all",)):
        """The fine-tuned models' paired tests against a base, in table order."""
        rows = (r for r in self.rows if r["benchmark"] == benchmark and r["group"] in groups)
        return [r for r in rows if r["versus"] and key_epoch(r["model"])]


def save_plot(path, title, series, **axes):
    from matplotlib.figure import Figure  # no pyplot: no backend, no global figure to close

    figure = Figure(figsize=(7, 4.5))
    axis = figure.subplots()
    for xs, ys, yerr, style in series:
        axis.errorbar(xs, ys, yerr=yerr, **style)
    axis.set(title=title, **axes)
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=120)
    files.write_bytes(path, image.getvalue())


def plot_tradeoff(table, settings, path):
    """Spider (0-shot base at epoch 0: like for like) and MMLU by epoch; the few-shot baseline as a point apart."""
    lora = [(epoch, model_key(epoch)) for epoch in settings.eval_epochs]
    baseline = f"Spider base {settings.baseline_shots}-shot (study baseline)"
    series = []
    for benchmark, points, label, style in (
        ("spider", [(0, "base_0shot"), *lora], "Spider execution accuracy (0-shot prompt)", {"fmt": "o-"}),
        ("mmlu", [(x + 0.08, key) for x, key in [(0, "base"), *lora]], "MMLU accuracy (all items)", {"fmt": "s-"}),
        ("spider", [(-0.08, "base_3shot")], baseline, {"fmt": "D", "color": "gray"}),
    ):
        if found := [(x, r) for x, key in points if (r := table.get(benchmark, key)) and r["accuracy"] is not None]:
            xs, rows = zip(*found)
            errors = [[r["accuracy"] - r["ci_low"] for r in rows], [r["ci_high"] - r["accuracy"] for r in rows]]
            series.append((xs, [r["accuracy"] for r in rows], errors, {"capsize": 4, "label": label, **style}))
    axes = {"xlabel": "Epochs of LoRA fine-tuning (0 = base model)", "ylabel": f"Accuracy ({CI} Wilson CI)"}
    title = f"Spider vs MMLU trade-off ({settings.profile} profile)"
    save_plot(path, title, series, xticks=[0, *settings.eval_epochs], ylim=(0, 1), **axes)


def fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_ci(row):
    return "—" if row["ci_low"] is None else f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def fmt_accuracy(row):
    return f"{fmt(row['accuracy'])} {fmt_ci(row)}"


def fmt_difference(row):
    low, high = row["difference_ci_low"], row["difference_ci_high"]
    return "—" if row["difference"] is None else f"{row['difference']:+.3f} [{low:+.3f}, {high:+.3f}]"


def fmt_p(row):
    paired = row is not None and row["n_paired"] is not None
    return f"{row['p_value']:.4f} (b={row['b']}, c={row['c']}, n={row['n_paired']})" if paired else "—"


def fmt_change(value):
    # round first: a float residue of an unchanged aggregate (-1e-14) must not print as "-0.0%"
    return "—" if value is None else f"{round(value, 1) + 0.0:+.1f}%"


def fmt_points(value, sign="+"):
    """An accuracy difference in percentage points."""
    return "—" if value is None else f"{round(100 * value, 1) + 0.0:{sign}.1f} pts"


def fmt_rate(row):
    return "—" if row["p_discordant"] is None else f"{row['p_discordant']:.3f} ({row['p_discordant_source']})"


def inline_code(text):
    """One inline code span in a table cell: a fence longer than any backtick run inside, pipes escaped."""
    text = " ".join(str(text or "").split()).replace("|", "\\|")
    if "`" not in text:
        return f"`{text}`" if text else "(empty)"
    fence = "`" * (max(map(len, re.findall("`+", text))) + 1)
    return f"{fence} {text} {fence}"


def markdown_table(header, rows):
    line = lambda cells: "| " + " | ".join(map(str, cells)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


class Markdown:
    """report.md, every number read from the long table; each section a list of blocks that blank lines separate."""

    def __init__(self, results, table, settings, paths):
        self.results, self.table, self.settings, self.paths = results, table, settings, paths

    def render(self):
        sections = (self.header, self.spider, self.breakdowns, self.errors, self.mmlu, self.table_iii)
        blocks = [block for section in (*sections, self.sample_sizes, self.figures) for block in section()]
        return "\n\n".join(blocks) + "\n"

    def by_model(self, benchmark, header, cells):
        """A row per model: its label (Spider's with epochs), then cells(key, row) or "missing/stale (run X)"."""
        spider = benchmark == "spider"
        rows = []
        for key, label in self.settings.spider_models() if spider else self.settings.mmlu_models():
            row = self.table.get(benchmark, key)
            lead = [label, key_epoch(key)] if spider else [label]
            if row["status"] in ("missing", "stale"):
                producer = self.paths.producer(self.paths.results(benchmark, key))  # mmlu_generation: the MMLU file
                rows.append(lead + [f"{row['status']} (run {producer})"] + ["—"] * (len(header) - len(lead) - 1))
            else:
                rows.append(lead + cells(key, row))
        return markdown_table(header, rows)

    def comparisons(self, title, benchmark):
        """The paired tests of each fine-tuned model: Spider's against each base, MMLU's per category too."""
        spider = benchmark == "spider"  # Spider has no category slices
        rows = []
        for row in self.table.paired(benchmark, ("all", "category")):
            shown = row["versus"] if spider else STUDY_LABELS.get(row["slice"], row["slice"])
            detectable = row["minimum_detectable_difference"]
            detectable = "not reachable" if detectable is None and row["p_discordant"] else fmt_points(detectable, "")
            cells = [row["n_paired"], row["b"], row["c"], fmt_difference(row), fmt(row["p_value"], 4), fmt_rate(row)]
            missing = "stale" if row["status"] == "stale" else "missing"  # this model's file, or its base's
            cells = [missing] + ["—"] * 7 if row["n_paired"] is None else [*cells, detectable, row["reading"]]
            rows.append([f"LoRA epoch {key_epoch(row['model'])}", shown, *cells])
        heading = f"### Table {title} fine-tuned model against the base model, paired on the same questions"
        return [heading, markdown_table(["Model", "vs" if spider else "Category", *COMPARISON_HEADER], rows)]

    def header(self):
        results, manifest, split = self.results, self.results["training_manifest"], self.results["train_split"]
        stale = "; ".join(
            f"{name}, {why} (run {self.paths.producer(self.paths.results(*name.split()))})"
            for name, why in results["stale"].items()
        )
        # The adapters may come from a run with another split than the one configured now: the manifest decides.
        other_split = split not in (None, self.settings.train_split)
        notes = {"TRAIN_SPLIT": f"  # configured now; the adapters were trained on {split}" * other_split}
        config = [f"{name} = {value}{notes.get(name, '')}" for name, value in results["config"].items()]
        if manifest is None:
            training = f"manifest missing (run {SCRIPTS[1]}); configured TRAIN_SPLIT = {self.settings.train_split}"
        else:
            finished = "" if manifest.get("finished") else " — training NOT finished"
            training = (
                f"train split **{split}**, {manifest.get('train_examples')} examples, "
                f"{manifest.get('dropped_too_long')} dropped as too long, overlap with the evaluated questions: "
                f"{manifest.get('overlap_with_evaluated')}{finished}"
            )
        return [
            f"# Report — QLoRA fine-tuning of {Path(results['model']).name} on Spider",
            f"- Profile: **{results['profile']}**\n- Model: `{results['model']}`\n"
            f"- Results as of: {results['date'] or 'no results yet'}",
            "\n".join(["```", *config, "```"]),
            *[DEMO_NOTE] * (results["profile"] == "demo"),
            f"Training: {training}.",
            *[f"> **⚠ {results['leakage_warning']}**"] * bool(results["leakage_warning"]),
            *[f"> **⚠ Not reported, made from other inputs than those of now:** {stale}."] * bool(stale),
        ]

    def spider(self):
        table, epochs = self.table, self.settings.eval_epochs
        databases = sorted(table.slices("spider", "database"))
        sample = f"the evaluated questions cover {len(databases)} database(s): {', '.join(databases)}"
        suite = bool(table.slices("spider_test_suite", "all"))
        header = ["Model", "Epochs", "Accuracy", "Std", f"{CI} CI", "Strict accuracy (official rules)"]
        header += ["Test-suite accuracy (official test-suite databases)"] * suite
        header += [f"McNemar p vs base {self.settings.baseline_shots}-shot", "McNemar p vs base 0-shot"]

        def cells(key, row):
            partial = "" if row["n"] == row["expected_n"] else f" (n={row['n']} of {row['expected_n']})"
            found = [fmt(row["accuracy"]) + partial, fmt(row["std"]), fmt_ci(row)]
            found.append(fmt_accuracy(table.get("spider_strict", key)))
            if suite:  # only the records scored on the test-suite databases count: their own n where it differs
                scored = table.get("spider_test_suite", key)
                found.append(fmt_accuracy(scored) + f" (n={scored['n']})" * (scored["n"] != row["n"]))
            return found + [fmt_p(table.get("spider", key, versus=base)) for base in ("base_3shot", "base_0shot")]

        last = model_key(max(epochs)) if epochs else None
        changes = []
        for base in ("base_3shot", "base_0shot"):
            before, after = table.accuracy("spider", base), table.accuracy("spider", last)
            reading = (table.get("spider", last, versus=base) or {}).get("reading")
            points = fmt_points(None if before is None or after is None else after - before)
            change = f"{fmt_change(stats.percent_change(before, after))} ({points})"
            changes.append(change + f": {reading}" * bool(reading))
        name = f"LoRA epoch {key_epoch(last)}" if last else "the last epoch"
        return [
            "## Spider (text-to-SQL)",
            f"Sample: {sample if databases else 'no Spider results yet'}. {STUDY_SAMPLE_NOTE}",
            f"### Table I — Spider execution accuracy (std with ddof={stats.SPIDER_STD_DDOF}, as the study)",
            self.by_model("spider", header, cells),
            *[TEST_SUITE_NOTE] * suite,
            f"Δ accuracy, base {self.settings.baseline_shots}-shot → {name} (the study's Δ, relative): {changes[0]}; "
            f"base 0-shot (same prompt) → {name}: {changes[1]}. A relative change is undefined (—) where the base "
            "accuracy is 0; the reading is Table I-b's paired test.",
            *self.comparisons("I-b — Spider: each", "spider"),
            DESIGN_NOTE,
        ]

    def breakdowns(self):
        """Tables I-c and I-d: accuracy per hardness level and per database, a column per Spider model present."""
        models = [
            (k, label) for k, label in self.settings.spider_models() if self.table.get("spider", k)["n"] is not None
        ]
        labels = [label + f" epoch {key_epoch(key)}" * bool(key_epoch(key)) for key, label in models]
        blocks = []
        for group, title in (
            ("hardness", "I-c — Spider execution accuracy by hardness (official levels)"),
            ("database", "I-d — Spider execution accuracy by database"),
        ):
            rows = []
            for name in self.table.slices("spider", group):
                found = [self.table.get("spider", key, group, name) or {} for key, _ in models]
                rows.append([name, *(f"{fmt_accuracy(r)} (n={r['n']})" if r.get("n") else "—" for r in found)])
            table = markdown_table([group.capitalize(), *labels], rows) if rows else "— (no Spider results yet)."
            blocks += [f"### Table {title} [{CI} CI] (n)", table]
        return blocks

    def errors(self):
        def counts(key, row):
            kinds = [self.table.get("spider", key, "error", kind)["n"] for kind in ERROR_KINDS]
            return [row["n"], row["correct"], *kinds]

        blocks = [
            "### Spider errors (wrong answers by kind, study rule)",
            self.by_model("spider", ["Model", "Epochs", "n", "Correct", *ERROR_KINDS], counts),
            "### Error analysis — examples of each kind of error (as the study's section III.C)",
        ]
        examples = self.results["error_examples"]
        if examples is None:
            return blocks + ["No fine-tuned model's Spider results yet: no errors to show."]
        blocks.append(
            f"LoRA epoch {examples['epochs']} (the last evaluated epoch): {examples['wrong']} wrong answers; up to "
            f"{examples['per_kind']} of each kind drawn with seed {examples['seed']}."
        )
        for kind, found in examples["kinds"].items():
            items = [
                f"- **Question** (#{e['index']}, {e['db_id']}): {e['question']}\n"
                f"  - Predicted: {inline_code(e['prediction'])}\n  - Gold: {inline_code(e['gold'])}\n"
                f"  - Reason: {' '.join(str(e['reason'] or '—').split())}"
                for e in found["examples"]
            ]
            blocks += [f"#### {kind} ({len(found['examples'])} of {found['count']})", "\n".join(items)]
        return blocks + ["No wrong answers."] * (not examples["kinds"])

    def mmlu(self):
        table, categories = self.table, self.settings.categories
        header = ["Model", "n", "Aggregate (study: mean of categories ± population std)"]
        header += [f"Micro average (all questions) [{CI} CI]", *(STUDY_LABELS.get(c, c) for c in categories)]
        header += ["McNemar p vs base (all items)"]

        def cells(key, row):
            benchmark, expected = row["benchmark"], row["expected_n"]
            aggregate = table.get(benchmark, key, "aggregate")
            n = f"n={row['n']}" if expected is None else f"{row['n']}" + f" of {expected}" * (row["n"] != expected)
            found = [n, f"{fmt(aggregate['accuracy'])} ± {fmt(aggregate['std'])}", fmt_accuracy(row)]
            for c in (table.get(benchmark, key, "category", category) for category in categories):
                found.append(f"{fmt(c['accuracy'])} ± {fmt(c['std'])} {fmt_ci(c)}" + " (no items)" * (not c["n"]))
            return found + [fmt_p(row)]

        blocks = [
            f"## MMLU (generalisation, {self.settings.mmlu_shots}-shot)",
            f"Prompt format: **{self.settings.mmlu_prompt_format}** (MMLU_PROMPT_FORMAT). Per category: accuracy ± "
            f"std (ddof={stats.MMLU_STD_DDOF}, as the study) [{CI} Wilson CI]. Two aggregates, labelled: the study's "
            "(mean of the category accuracies ± their population std) and the micro average over all questions "
            "(differs from the study's when categories have different sizes).",
            "### Table II — MMLU accuracy by category (letter log-probabilities)",
            self.by_model("mmlu", header, cells),
        ]
        if not table.slices("mmlu_generation", "all"):  # the generation score was not asked for
            return blocks + self.comparisons("II-c — MMLU: each", "mmlu")
        rows = [(label, table.get("mmlu_generation", key)) for key, label in self.settings.mmlu_models()]
        counts = [f"{label} {r['unparseable']} of {r['n']}" for label, r in rows if r["n"] is not None]
        return blocks + [
            "### Table II-b — MMLU accuracy by category (the answer parsed from a short greedy generation)",
            self.by_model("mmlu_generation", header, cells),
            f"Generations with no parseable answer (counted wrong): {'; '.join(counts) or '—'}.",
            *self.comparisons("II-c — MMLU: each", "mmlu"),
            *self.comparisons("II-d — MMLU scored by generation (Table II-b): each", "mmlu_generation"),
        ]

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
        readings = []
        for key in map(model_key, epochs):
            test = table.get("mmlu", key)
            if test["difference"] is None:  # no paired questions: the base's or the model's results are missing
                readings.append(f"- {key}: no test (base or model results missing).")
                continue
            aggregate = table.accuracy("mmlu", key, "aggregate") - table.accuracy("mmlu", "base", "aggregate")
            detectable = test["minimum_detectable_difference"]
            power = f"the smallest difference detectable at {POWER} power is {fmt_points(detectable, '')}"
            readings.append(
                f"- LoRA epoch {key_epoch(key)}: MMLU micro average {fmt_difference(test)} vs base (study aggregate "
                f"{aggregate:+.3f}; McNemar p = {test['p_value']:.4f}, b = {test['b']}, "
                f"c = {test['c']}, n = {test['n_paired']}): {test['reading']}; "
                f"{power if detectable else f'at this n no difference reaches {POWER} power'}."
            )
        return [
            "### Table III — Variação percentual de acurácia por categoria (MMLU, base → LoRA)",
            markdown_table(header, rows),
            "Reading: the paired comparison of Table II-c on the same questions (for Agregada, all of them), a "
            f"direction only where the {CI} interval of the difference excludes 0.",
            "### Reading",
            *["\n".join(readings)] * bool(readings),
        ]

    def sample_sizes(self):
        heading = "## How many questions would be needed"
        if not self.settings.eval_epochs:
            return [heading, "No fine-tuned model to compare with (EVAL_EPOCHS is empty)."]
        rows = []
        for benchmark, name in (("spider", "Spider"), ("mmlu", "MMLU"), ("mmlu_generation", "MMLU (generation)")):
            for r in self.table.paired(benchmark):
                n_now = "missing" if r["n_paired"] is None else r["n_paired"]
                needed = [fmt(r[f"n_for_{points}pt"], 0) for points in SAMPLE_SIZE_POINTS]
                rows.append([name, f"LoRA epoch {key_epoch(r['model'])} vs {r['versus']}", n_now, fmt_rate(r), *needed])
        header = ["Benchmark", "Comparison", "n now", "p_d", *(f"{points} pt" for points in SAMPLE_SIZE_POINTS)]
        return [
            heading,
            f"Paired questions for the exact McNemar test to detect a difference in accuracy of "
            f"{', '.join(map(str, SAMPLE_SIZE_POINTS))} points with {POWER} power at α = {stats.ALPHA} (two-sided), "
            "at each comparison's discordance rate p_d (design as above); a difference larger than p_d cannot occur "
            "(—).",
            markdown_table(header, rows),
        ]

    def figures(self):
        loss, paths = self.results["training_loss"], self.paths
        if loss:
            (first_step, first), (last_step, last) = loss["first"], loss["last"]
            curve = (
                f"`{paths.loss_plot.name}` — training loss by step ({loss['points']} logged steps; {first:.4f} at "
                f"step {first_step}, {last:.4f} at step {last_step})."
            )
        else:
            curve = f"Training loss: missing (run {SCRIPTS[1]}); no loss log at `{paths.loss_log}`."
        plot = f"- `{paths.tradeoff_plot.name}` — Spider and MMLU accuracy by epoch with {CI} CIs."
        return ["## Figures", f"{plot}\n- {curve}"]
