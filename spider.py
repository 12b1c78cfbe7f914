"""The Spider benchmark: the evaluated questions, one record per question, one model's evaluation, its summary.

A record holds the question, the gold query and its hardness level (as the official evaluator classifies it), the
model's raw output, the SQL extracted from it, both execution scores with their reasons, the error kind, and the
test-suite score where TEST_SUITE_DIR is set (sql_eval.py scores; this file keeps the books).
"""

import functools
import json
import os
from collections import Counter
from pathlib import Path

import sqlglot

import common
import prompts
import records
import runner
import schemas
import spider_hardness
import sql_eval
import stats

NOT_TEXT_REASON = "not_text: the prediction is not a string"
NOT_TEXT = dict(score=0, strict_score=0, reason=NOT_TEXT_REASON, strict_reason=NOT_TEXT_REASON, error_kind="not_text")
DOWNLOAD_HINT = (
    "download the official Spider release (https://yale-lily.github.io/spider) and unzip it there, or "
    "set SPIDER_DIR to its folder"
)


def database_path(spider_dir, db_id):
    """Spider's layout: <spider_dir>/database/<db_id>/<db_id>.sqlite; db_id must be a plain name (no escaping)."""
    if (
        not isinstance(db_id, str)
        or db_id in ("", ".")
        or ".." in db_id
        or "\0" in db_id
        or any(separator in db_id for separator in ("/", "\\", os.sep, os.altsep) if separator)
    ):
        raise common.PipelineError(f"db_id {db_id!r} must be a plain database name (no path separator, no '..')")
    return Path(spider_dir) / "database" / db_id / f"{db_id}.sqlite"


# ---------------------------------------------------------------------------------------------------------------
# The official release


def schema_texts(tables_file):
    """db_id -> the schema as in the study's Figure 1: original table and column names, no '*'."""
    texts = {}
    for database in records.read_json(tables_file, schemas.SPIDER_TABLES, DOWNLOAD_HINT):
        tables = [
            (table, [name for owner, name in database["column_names_original"] if owner == table_index])
            for table_index, table in enumerate(database["table_names_original"])
        ]
        texts[database["db_id"]] = prompts.schema_text(database["db_id"], tables)
    return texts


def release_entries(path, db_schemas, spider_dir):
    """One Spider split as {db_id, question, query, db_schema}; names the file and entry of anything malformed."""
    entries = []
    for number, raw in enumerate(records.read_json(path, schemas.SPIDER_RELEASE_SPLIT, DOWNLOAD_HINT)):
        db_id, question, query = raw["db_id"], raw["question"], raw["query"]
        if db_id not in db_schemas:
            raise common.PipelineError(f"{path} entry {number}: database {db_id!r} is not in tables.json")
        if not database_path(spider_dir, db_id).exists():
            raise common.PipelineError(
                f"{path} entry {number}: database file database/{db_id}/{db_id}.sqlite is "
                f"missing from {spider_dir}; {DOWNLOAD_HINT}"
            )
        entries.append({"db_id": db_id, "question": question, "query": query, "db_schema": db_schemas[db_id]})
    return entries


def read_release(spider_dir):
    """The official release's train (train_spider + train_others) and dev splits as prepared entries."""
    db_schemas = schema_texts(spider_dir / "tables.json")
    train = release_entries(spider_dir / "train_spider.json", db_schemas, spider_dir)
    if (spider_dir / "train_others.json").exists():
        train += release_entries(spider_dir / "train_others.json", db_schemas, spider_dir)
    dev = release_entries(spider_dir / "dev.json", db_schemas, spider_dir)
    return train, dev


# ---------------------------------------------------------------------------------------------------------------
# Prepared entries and records


def read_entries(path):
    """A prepared Spider file: a list of {db_id, question, query, db_schema} (schemas.SPIDER_PREPARED)."""
    return records.read_json(path)


def training_entries():
    """The training questions: TRAIN_SPLIT's prepared entries, the first MAX_TRAIN_EXAMPLES of them if set."""
    entries = read_entries(common.PATHS.spider_train if common.TRAIN_SPLIT == "train" else common.PATHS.spider_dev)
    return entries[: common.MAX_TRAIN_EXAMPLES] if common.MAX_TRAIN_EXAMPLES else entries


def evaluated_entries():
    """The evaluated questions: the first EVALUATION_ENTRIES_SIZE of the prepared dev split."""
    return read_entries(common.PATHS.spider_dev)[: common.EVALUATION_ENTRIES_SIZE]


def read_predictions(path):
    """External predictions (JSONL: db_id, question, query, prediction), each line checked; names the line at fault."""
    if not path.is_file():
        raise common.PipelineError(f"predictions file {path} {'is a folder' if path.is_dir() else 'does not exist'}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise common.PipelineError(
            f"predictions file {path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise common.PipelineError(f"{path} line {number} is not valid JSON ({error.msg}); correct it") from None
        schemas.check(row, schemas.PREDICTION_LINE, f"{path} line {number}", "correct it")
        rows.append({field: row[field] for field in ("db_id", "question", "query", "prediction")})
    if not rows:
        raise common.PipelineError(f"predictions file {path} holds no predictions")
    return rows


def spider_dir():
    return common.project_path(common.SPIDER_DIR)


def evaluated_overlap(train_entries):
    """How many of the evaluated dev questions (the first EVALUATION_ENTRIES_SIZE) are also training examples."""
    evaluated = evaluated_entries()
    trained = {(entry["db_id"], entry["question"], entry["query"]) for entry in train_entries}
    return sum((entry["db_id"], entry["question"], entry["query"]) in trained for entry in evaluated), len(evaluated)


def check_databases_exist(entries):
    """Fail before any work, with one line, if a database the entries need is missing from SPIDER_DIR."""
    for db_id in sorted({entry["db_id"] for entry in entries}):
        if not database_path(spider_dir(), db_id).is_file():
            raise common.PipelineError(
                f"database {db_id!r} is missing from {spider_dir()}/database; set SPIDER_DIR to the Spider release "
                f"the data was prepared from, or run {records.SCRIPTS[0]}"
            )


@functools.cache
def gold_hardness(gold_sql):
    """The official evaluator's hardness level of a gold query (easy, medium, hard, extra); None if unparseable."""
    try:
        return spider_hardness.hardness(gold_sql)
    except sqlglot.errors.SqlglotError:
        return None


def test_suite_databases(db_id):
    """Every database of db_id's official test suite (TEST_SUITE_DIR/database/<db_id>/*.sqlite), or () if unset."""
    if not common.TEST_SUITE_DIR:
        return ()
    folder = database_path(common.project_path(common.TEST_SUITE_DIR), db_id).parent
    databases = tuple(sorted(str(path) for path in folder.glob("*.sqlite")))
    if not databases:
        raise common.PipelineError(
            f"TEST_SUITE_DIR={common.TEST_SUITE_DIR} has no databases for {db_id!r} in "
            f"{folder}; point it at the official test-suite folder or unset it"
        )
    return databases


def score_outputs(entries, raw_outputs):
    """Records of the entries' raw outputs (a model's, or external predictions), the SQL extracted and scored. An
    external prediction that is not text (a number, null, a list) scores 0 with the reason not_text."""
    predictions = [sql_eval.extract_sql(raw) if isinstance(raw, str) else "" for raw in raw_outputs]
    items = [
        {
            "question": entry["question"],
            "prediction": prediction,
            "gold": entry["query"],
            "db_id": entry["db_id"],
            "db_path": str(database_path(spider_dir(), entry["db_id"])),
        }
        for entry, prediction in zip(entries, predictions)
    ]
    outcomes = sql_eval.evaluate_predictions(items)
    outcomes = [outcome if isinstance(raw, str) else NOT_TEXT for raw, outcome in zip(raw_outputs, outcomes)]
    suites = [test_suite_databases(entry["db_id"]) for entry in entries]
    return [
        {
            "db_id": entry["db_id"],
            "question": entry["question"],
            "gold": entry["query"],
            "hardness": gold_hardness(entry["query"]),
            "raw_output": raw,
            "prediction": prediction,
            "score": int(outcome["score"]),
            "strict_score": int(outcome["strict_score"]),
            "test_suite_score": sql_eval.test_suite_score(suite, prediction, entry["query"]) if suite else None,
            "reason": outcome["reason"],
            "strict_reason": outcome["strict_reason"],
            "error_kind": outcome["error_kind"],
        }
        for entry, raw, prediction, outcome, suite in zip(entries, raw_outputs, predictions, outcomes, suites)
    ]


def evaluate_model(complete, key, entries, prompts, lengths, made_with, batch_size):
    """One model (complete: modeling.load_generator) on the entries, resumable; its records in entry order."""
    check_databases_exist(entries)

    def evaluate_batch(indices):
        raw_outputs = complete([prompts[i] for i in indices], common.MAX_NEW_TOKENS)
        return score_outputs([entries[i] for i in indices], raw_outputs)

    return runner.evaluate(
        records.results_path("spider", key), made_with, prompts, lengths, batch_size, evaluate_batch, f"spider {key}"
    )


def summarize(key, model_records):
    """Accuracy, std, CI and outcome counts of one model, printed and written beside its per-example file."""
    summary = {
        "model": key,
        **stats.summarize_scores([r["score"] for r in model_records], ddof=stats.SPIDER_STD_DDOF),
        "strict": stats.summarize_scores([r["strict_score"] for r in model_records], ddof=stats.SPIDER_STD_DDOF),
        "errors": dict(Counter(r["error_kind"] or "correct" for r in model_records)),
    }
    records.write_json(common.PATHS.spider_results / f"{key}.summary.json", summary)
    print(
        f"{key}: execution accuracy {summary['accuracy']:.3f} (95% CI {summary['ci_low']:.3f}-"
        f"{summary['ci_high']:.3f}, n={summary['n']}), strict {summary['strict']['accuracy']:.3f}; "
        f"outcomes {summary['errors']}"
    )
    return summary
