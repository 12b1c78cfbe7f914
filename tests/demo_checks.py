"""What a finished demo run must show if the pipeline works, checked from its per-example files, and what its report
says compared with them.

The demo is arranged so that fine-tuning measurably teaches the tiny model its text-to-SQL task (README, "What the
demo numbers mean"). A bug that zeroes or flips scores, swaps models or epochs, misaligns the paired questions or
misreads a table then shows up here as a named problem instead of a quietly wrong report.

    problems = check_demo_results(output_dir, epochs=(3, 5), reported=what_the_report_says(output_dir, settings))
    assert not problems, "\\n".join(problems)
"""

import hashlib
import json
import tempfile
from pathlib import Path

from scipy.stats import binomtest

LEVELS = {"easy", "medium", "hard", "extra"}
BASE = "base_0shot"  # the fine-tuned models' own prompt: the like-for-like baseline
ROUNDING = 5e-4  # the report prints accuracies with three decimals


def spider_key(epoch):
    return BASE if epoch == 0 else f"lora_epoch{epoch}"


def read_records(path):
    """Per-example records of one JSONL file, last per index (as a resumed file is read), sorted by index."""
    kept = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            kept[record["index"]] = record
    return [kept[index] for index in sorted(kept)]


def accuracy(records):
    return sum(record["score"] for record in records) / len(records)


def mcnemar_p(base_scores, model_scores):
    """Exact two-sided McNemar p-value on paired 0/1 scores (binomial test on the discordant pairs)."""
    b = sum(1 for base, model in zip(base_scores, model_scores) if base and not model)
    c = sum(1 for base, model in zip(base_scores, model_scores) if model and not base)
    return 1.0 if b + c == 0 else float(binomtest(c, b + c, 0.5).pvalue)


def breakdown(records, field):
    """{value of field: (questions, correct)} over the records."""
    table = {}
    for record in records:
        questions, correct = table.get(record[field], (0, 0))
        table[record[field]] = (questions + 1, correct + record["score"])
    return table


def check_records(key, records, reference, min_questions):
    """One model's file: complete, 0/1 scores, the strict rule never kinder than the study's, the same questions in
    the same order as the reference model (McNemar pairs by index), an official hardness level on each."""
    problems = []
    if len(records) < min_questions:
        return [f"{key}: {len(records)} questions, expected at least {min_questions}"]
    if [record["index"] for record in records] != list(range(len(records))):
        problems.append(f"{key}: indices are not 0..{len(records) - 1}")
    if any(record["score"] not in (0, 1) or record["strict_score"] not in (0, 1) for record in records):
        problems.append(f"{key}: a score is not 0 or 1")
    if any(record["strict_score"] > record["score"] for record in records):
        problems.append(f"{key}: a strict score of 1 where the study's rule says 0")
    if any((record["score"] == 1) != (record["error_kind"] is None) for record in records):
        problems.append(f"{key}: an error kind disagrees with its score")
    if any(record["hardness"] not in LEVELS for record in records):
        problems.append(f"{key}: a question without an official hardness level")
    if reference is not None:
        pairs = zip(reference, records)
        if len(reference) != len(records) or any(a["db_id"] != b["db_id"] or a["gold"] != b["gold"] for a, b in pairs):
            problems.append(f"{key}: not the same questions in the same order as {BASE}")
    return problems


def check_adapters(output_dir, epochs):
    """Each lora_epochN file was made with epoch N's adapter, as the training manifest names it (swapped epochs)."""
    manifest_path = output_dir / "lora" / "run_manifest.json"
    if not manifest_path.exists():
        return [f"no training manifest at {manifest_path}"]
    folders = json.loads(manifest_path.read_text(encoding="utf-8"))["epochs"]
    problems = []
    for epoch in epochs:
        made_with = output_dir / "spider" / f"{spider_key(epoch)}.made_with.json"
        adapter = output_dir / "lora" / folders.get(str(epoch), "?") / "adapter_model.safetensors"
        if not made_with.exists() or not adapter.exists():
            problems.append(f"epoch {epoch}: no made_with file or no adapter to compare")
            continue
        recorded = json.loads(made_with.read_text(encoding="utf-8")).get("adapter_sha256")
        if recorded != hashlib.sha256(adapter.read_bytes()).hexdigest():
            problems.append(f"{spider_key(epoch)} was not made with epoch {epoch}'s adapter")
    return problems


def check_report(reported, by_key, epochs, last):
    """What the report says, where the caller passes it, against the per-example files."""
    problems = []
    for key, value in reported.get("accuracy", {}).items():
        if key not in by_key or value is None or abs(value - accuracy(by_key[key])) > 1e-9:
            problems.append(f"report: {key} accuracy {value} is not its per-example files'")
    rows = reported.get("epoch_rows")
    if rows is not None:
        expected = [(epoch, accuracy(by_key[spider_key(epoch)])) for epoch in (0, *epochs)]
        if [epoch for epoch, _ in rows] != [epoch for epoch, _ in expected]:
            problems.append(f"report: per-epoch rows {[e for e, _ in rows]} are not epochs {[0, *epochs]} in order")
        elif any(abs(a - b) > ROUNDING for (_, a), (_, b) in zip(rows, expected)):
            problems.append("report: a per-epoch row's accuracy is not its epoch's per-example files'")
    for field in ("hardness", "db_id"):
        table = reported.get(field)
        if table is None:
            continue
        expected = breakdown(by_key[last], field)
        if sum(questions for questions, _ in table.values()) != len(by_key[last]):
            problems.append(f"report: the {field} table's counts do not add up to {len(by_key[last])}")
        if {value: tuple(counts) for value, counts in table.items()} != expected:
            problems.append(f"report: the {field} table is not the last epoch's per-example files'")
    if "mcnemar_p" in reported:
        p_value = mcnemar_p([r["score"] for r in by_key[BASE]], [r["score"] for r in by_key[last]])
        if reported["mcnemar_p"] is None or abs(reported["mcnemar_p"] - p_value) > 1e-9:
            problems.append(f"report: McNemar p {reported['mcnemar_p']} is not the per-example files' {p_value:.3g}")
    if "spider_line" in reported:
        line = reported["spider_line"]
        if len(set(line)) <= 1:
            problems.append(f"report: the Spider line of tradeoff.png is flat ({line})")
        expected = [accuracy(by_key[spider_key(epoch)]) for epoch in (0, *epochs)]
        if len(line) != len(expected) or any(abs(a - b) > 1e-9 for a, b in zip(line, expected)):
            problems.append(f"report: the Spider line of tradeoff.png {line} is not the per-example files' {expected}")
    if reported.get("plot_is_stale"):
        problems.append("report: tradeoff.png is not the plot of results.json")
    return problems


def check_demo_results(output_dir, epochs=(3, 5), min_questions=100, alpha=0.05, reported=None):
    """Problems of a finished demo run in output_dir (outputs/<profile>), as sentences; [] when it shows a working
    pipeline. reported (optional; what_the_report_says gives it) is what its report says: {"accuracy": {key: value},
    "epoch_rows": [(epoch, accuracy), ...] from base 0-shot (epoch 0) on, "hardness": {level: (questions, correct)},
    "db_id": {db_id: (questions, correct)}, "mcnemar_p": base_0shot vs last epoch, "spider_line": [accuracy, ...],
    "plot_is_stale": bool}, any part of it."""
    output_dir = Path(output_dir)
    keys = ["base_3shot", *(spider_key(epoch) for epoch in (0, *epochs))]
    missing = [key for key in keys if not (output_dir / "spider" / f"{key}.jsonl").exists()]
    if missing:
        return [f"no per-example file for {', '.join(missing)} in {output_dir / 'spider'}"]
    by_key = {key: read_records(output_dir / "spider" / f"{key}.jsonl") for key in keys}
    problems = []
    for key in keys:
        problems += check_records(key, by_key[key], None if key == BASE else by_key[BASE], min_questions)
    if problems:
        return problems
    last = spider_key(epochs[-1])
    base_scores, last_scores = [r["score"] for r in by_key[BASE]], [r["score"] for r in by_key[last]]
    if not accuracy(by_key[BASE]) < accuracy(by_key[last]):
        problems.append(f"{BASE} ({accuracy(by_key[BASE]):.3f}) is not below {last} ({accuracy(by_key[last]):.3f})")
    elif mcnemar_p(base_scores, last_scores) >= alpha:
        problems.append(f"{BASE} vs {last}: McNemar p = {mcnemar_p(base_scores, last_scores):.3g}, not below {alpha}")
    series = [accuracy(by_key[spider_key(epoch)]) for epoch in (0, *epochs)]
    if len(set(series)) == 1:
        problems.append(f"the Spider accuracy is flat at {series[0]:.3f} from base to epoch {epochs[-1]}")
    for field in ("hardness", "db_id"):
        if sum(questions for questions, _ in breakdown(by_key[last], field).values()) != len(by_key[last]):
            problems.append(f"{last}: the {field} breakdown does not add up to its questions")
    problems += check_adapters(output_dir, epochs)
    return problems + check_report(reported or {}, by_key, epochs, last)


# ---------------------------------------------------------------------------------------------------------------
# What the report says: results.json (the long table every part of the report is drawn from), Table I of report.md
# and the Spider line of tradeoff.png (the plot drawn again from results.json, and compared with the file).


def table_i_rows(report_text):
    """(label, epochs, accuracy) of each row of report.md's Table I that gives one, in the order printed (a missing
    or stale model's row gives none)."""
    section = report_text.split("### Table I —", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in section.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[2][0].isdigit():
            rows.append((cells[0], int(cells[1]), float(cells[2].split()[0])))
    return rows


def drawn_spider_line(rows, settings):
    """The Spider series of tradeoff.png as report.plot_tradeoff draws it from rows, and the PNG it makes."""
    from tradeoff import report

    drawn = {}

    def capture(path, title, series, **axes):
        drawn["series"] = series
        original(path, title, series, **axes)

    original, report.save_plot = report.save_plot, capture
    try:
        with tempfile.TemporaryDirectory() as scratch:
            report.plot_tradeoff(report.Table(rows), settings, Path(scratch) / "tradeoff.png")
            image = (Path(scratch) / "tradeoff.png").read_bytes()
    finally:
        report.save_plot = original
    spider = next(series for series in drawn["series"] if series[3]["label"].startswith("Spider execution"))
    return list(spider[1]), image


def what_the_report_says(output_dir, settings):
    """What a finished run's report says, in check_demo_results's `reported` form: results.json (the long table every
    part of the report is drawn from), report.md's Table I, and tradeoff.png's Spider line drawn again from
    results.json by the report's own code (the file must be that drawing). settings: report.ReportSettings."""
    output_dir = Path(output_dir)
    rows = json.loads((output_dir / "results.json").read_text(encoding="utf-8"))["rows"]
    last = spider_key(settings.eval_epochs[-1])

    def slices(group):
        found = [r for r in rows if (r["benchmark"], r["model"], r["group"]) == ("spider", last, group)]
        return {r["slice"]: (r["n"], r["correct"]) for r in found}

    table_i = table_i_rows((output_dir / "report.md").read_text(encoding="utf-8"))
    line, image = drawn_spider_line(rows, settings)
    return {
        "accuracy": {r["model"]: r["accuracy"] for r in rows if (r["benchmark"], r["group"]) == ("spider", "all")},
        # base 0-shot (epoch 0, the fine-tuned models' prompt), then the LoRA rows; the few-shot baseline apart
        "epoch_rows": [
            (epochs, value) for label, epochs, value in table_i if "-shot)" not in label or "0-shot" in label
        ],
        "hardness": slices("hardness"),
        "db_id": slices("database"),
        "mcnemar_p": next(
            (
                r["p_value"]
                for r in rows
                if (r["benchmark"], r["model"], r["group"], r["versus"]) == ("spider", last, "all", BASE)
            ),
            None,
        ),
        "spider_line": line,
        "plot_is_stale": image != (output_dir / "tradeoff.png").read_bytes(),
    }


# ---------------------------------------------------------------------------------------------------------------
# Deliberate breakage, applied to a copy of a finished run: each must make check_demo_results report a problem.


def rewrite(path, change):
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    Path(path).write_text("".join(json.dumps(change(record)) + "\n" for record in lines), encoding="utf-8")


def every_score_wrong(output_dir, epochs):
    for path in (Path(output_dir) / "spider").glob("*.jsonl"):
        rewrite(path, lambda r: dict(r, score=0, strict_score=0, error_kind=r["error_kind"] or "wrong_result"))


def epochs_swapped(output_dir, epochs):
    spider = Path(output_dir) / "spider"
    first, last = spider_key(epochs[0]), spider_key(epochs[-1])
    for suffix in (".jsonl", ".made_with.json", ".summary.json"):
        a, b = spider / f"{first}{suffix}", spider / f"{last}{suffix}"
        if a.exists() and b.exists():
            a_text = a.read_bytes()
            a.write_bytes(b.read_bytes())
            b.write_bytes(a_text)


def base_and_last_swapped(output_dir, epochs):
    spider = Path(output_dir) / "spider"
    base, last = spider / f"{BASE}.jsonl", spider / f"{spider_key(epochs[-1])}.jsonl"
    base_text = base.read_bytes()
    base.write_bytes(last.read_bytes())
    last.write_bytes(base_text)


def pairs_shuffled(output_dir, epochs):
    path = Path(output_dir) / "spider" / f"{spider_key(epochs[-1])}.jsonl"
    records = read_records(path)
    count = len(records)
    rewrite(path, lambda r: dict(r, index=(r["index"] + 1) % count))


BREAKAGES = {
    "every score wrong": every_score_wrong,
    "epochs swapped": epochs_swapped,
    "base and last epoch swapped": base_and_last_swapped,
    "paired questions shuffled": pairs_shuffled,
}
