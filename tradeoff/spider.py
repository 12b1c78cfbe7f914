"""The Spider benchmark's data: the official release, prepared entries, external predictions, the study's prompts.

Light on purpose (no DeepEval, no SQL sandbox): training needs the prompts; scoring is in sql_scoring.py.
"""

import json
from pathlib import Path

from tradeoff import PipelineError, files

SYSTEM_PROMPT = "You are an expert text-to-SQL assistant."
DOWNLOAD_HINT = (
    "download the official Spider release (https://yale-lily.github.io/spider) and unzip it there, or "
    "set SPIDER_DIR to its folder"
)
TEXT = {"type": "string"}
RELEASE_SPLIT = {"type": "array", "items": {"type": "object", "required": ["db_id", "question", "query"]}}
RELEASE_SPLIT["items"]["properties"] = dict.fromkeys(("db_id", "question", "query"), TEXT)
RELEASE_TABLES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["db_id", "table_names_original", "column_names_original"],
        "properties": {
            "db_id": TEXT,
            "table_names_original": {"type": "array", "items": TEXT},
            "column_names_original": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [{"type": "integer"}, TEXT], "minItems": 2, "maxItems": 2},
            },
        },
    },
}
PREDICTION_LINE = dict(RELEASE_SPLIT["items"], required=["db_id", "question", "query", "prediction"])


def database_path(spider_dir, db_id):
    """Spider's layout: <spider_dir>/database/<db_id>/<db_id>.sqlite; db_id must be a plain name (no escaping)."""
    if not isinstance(db_id, str) or db_id in ("", ".") or any(bad in db_id for bad in ("..", "/", "\\", "\0")):
        raise PipelineError(f"db_id {db_id!r} must be a plain database name (no path separator, no '..')")
    return Path(spider_dir) / "database" / db_id / f"{db_id}.sqlite"


# ---------------------------------------------------------------------------------------------------------------
# The official release


def schema_text(db_id, tables):
    """The schema as in the study's Figure 1: 'Database: X', then 'Table t (c1, c2, ...)' per (table, columns)."""
    lines = [f"Database: {db_id}"] + [f"Table {table} ({', '.join(columns)})" for table, columns in tables]
    return "\n".join(lines) + "\n"


def release_entries(path, db_schemas, spider_dir):
    """One Spider split as {db_id, question, query, db_schema}; names the file and entry of anything malformed."""
    entries = []
    for number, raw in enumerate(files.read_json(path, fix=DOWNLOAD_HINT, schema=RELEASE_SPLIT)):
        db_id = raw["db_id"]
        if db_id not in db_schemas:
            raise PipelineError(f"{path} entry {number}: database {db_id!r} is not in tables.json")
        try:
            present = database_path(spider_dir, db_id).exists()
        except PipelineError as error:
            raise PipelineError(f"{path} entry {number}: {error}") from None
        if not present:
            raise PipelineError(
                f"{path} entry {number}: database file database/{db_id}/{db_id}.sqlite is missing from {spider_dir}; "
                f"{DOWNLOAD_HINT}"
            )
        entries.append(
            {"db_id": db_id, "question": raw["question"], "query": raw["query"], "db_schema": db_schemas[db_id]}
        )
    return entries


def read_release(spider_dir):
    """The official release's train (train_spider + train_others) and dev splits as prepared entries."""
    db_schemas = {}
    for database in files.read_json(spider_dir / "tables.json", fix=DOWNLOAD_HINT, schema=RELEASE_TABLES):
        tables = [
            (table, [name for owner, name in database["column_names_original"] if owner == table_index])
            for table_index, table in enumerate(database["table_names_original"])
        ]
        db_schemas[database["db_id"]] = schema_text(database["db_id"], tables)
    train = release_entries(spider_dir / "train_spider.json", db_schemas, spider_dir)
    if (spider_dir / "train_others.json").exists():
        train += release_entries(spider_dir / "train_others.json", db_schemas, spider_dir)
    return train, release_entries(spider_dir / "dev.json", db_schemas, spider_dir)


def read_predictions(path, max_chars):
    """External predictions (JSONL: db_id, question, query, prediction), each line checked; names the line at fault.
    A gold or question over max_chars is refused before anything parses it; a long prediction scores too_long."""
    if not path.is_file():
        raise PipelineError(f"predictions file {path} {'is a folder' if path.is_dir() else 'does not exist'}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"predictions file {path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise PipelineError(f"{where} is not valid JSON ({error.msg}); correct it") from None
        files.check(row, PREDICTION_LINE, where, "correct it")
        for field in ("db_id", "question", "query"):
            if len(row[field]) > max_chars:
                raise PipelineError(f"{where}: its {field} is over {max_chars:,} characters; correct it")
        database_path(".", row["db_id"])
        rows.append({field: row[field] for field in ("db_id", "question", "query", "prediction")})
    if not rows:
        raise PipelineError(f"predictions file {path} holds no predictions")
    return rows


def evaluated_overlap(train, evaluated):
    """How many evaluated questions are also training examples (the study trained on the split it evaluated)."""
    trained = {(entry["db_id"], entry["question"], entry["query"]) for entry in train}
    return sum((entry["db_id"], entry["question"], entry["query"]) in trained for entry in evaluated)


# ---------------------------------------------------------------------------------------------------------------
# Prompts: chat messages that the tokenizer's chat template renders (with Qwen2, exactly the study's Figure 2)


def user_message(entry):
    return (
        f"Given the following database schema:\n{entry['db_schema']}\n"
        f"Generate the SQL query for the following question:\n{entry['question']}"
    )


def messages(entry, shots=()):
    """Figure 2's conversation; few-shot examples (baseline only) come first as earlier user/assistant turns."""
    turns = [{"role": "system", "content": SYSTEM_PROMPT}]
    for shot in shots:
        turns += [{"role": "user", "content": user_message(shot)}, {"role": "assistant", "content": shot["query"]}]
    return turns + [{"role": "user", "content": user_message(entry)}]


def training_example(entry):
    """Prompt/completion pair: the loss falls on the completion (the SQL and its end of turn) only."""
    return {"prompt": messages(entry), "completion": [{"role": "assistant", "content": entry["query"]}]}


def render(tokenizer, conversation):
    """Messages to the text the model sees, with the assistant turn opened."""
    return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
