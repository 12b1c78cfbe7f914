"""The Spider benchmark's data: the official release, prepared entries, external predictions, the study's prompts.

Light on purpose (no DeepEval, no SQL sandbox): training needs the prompts; scoring is in sql_scoring.py.
"""

import json
import shutil
import zipfile
from pathlib import Path

from tradeoff import PipelineError, files

SYSTEM_PROMPT = "You are an expert text-to-SQL assistant."
BY_HAND = (
    "download the official release by hand (https://yale-lily.github.io/spider), unzip it and set SPIDER_DIR to the "
    "folder holding dev.json, with SPIDER_SOURCE=local"
)
DOWNLOAD_HINT = (
    f"{BY_HAND}; or set SPIDER_SOURCE=auto and SPIDER_DIR to a new folder to fetch it from the Hugging Face hub"
)
HUB_RECORD = "fetched_from_hub.json"  # written into a release fetched by fetch_release: where it came from
FIELDS = ("db_id", "question", "query")
RELEASE_FILES = ("tables.json", "dev.json", "train_spider.json")  # train_others.json is optional
TEXT = {"type": "string"}


def _list_of(required, **properties):
    """The JSON Schema of a list of objects that have the required fields, of the properties' types."""
    return {"type": "array", "items": {"type": "object", "required": list(required), "properties": properties}}


RELEASE_SPLIT = _list_of(FIELDS, db_id=TEXT, question=TEXT, query=TEXT)
COLUMN = {"type": "array", "prefixItems": [{"type": "integer"}, TEXT], "minItems": 2, "maxItems": 2}  # [table, name]
RELEASE_TABLES = _list_of(
    ("db_id", "table_names_original", "column_names_original"),
    db_id=TEXT,
    table_names_original={"type": "array", "items": TEXT},
    column_names_original={"type": "array", "items": COLUMN},
)
PREDICTION_LINE = dict(RELEASE_SPLIT["items"], required=[*FIELDS, "prediction"])


def database_path(spider_dir, db_id, where=None):
    """Spider's layout: <spider_dir>/database/<db_id>/<db_id>.sqlite; db_id must be a plain name (no escaping), else
    one line that starts with where it came from (a file's entry or line)."""
    if not isinstance(db_id, str) or db_id in ("", ".") or any(bad in db_id for bad in ("..", "/", "\\", "\0")):
        at = f"{where}: " if where else ""
        raise PipelineError(f"{at}db_id {db_id!r} must be a plain database name (no path separator, no '..')")
    return Path(spider_dir) / "database" / db_id / f"{db_id}.sqlite"


def release_entries(path, db_schemas, spider_dir):
    """One Spider split as {db_id, question, query, db_schema}; names the file and entry of anything malformed."""
    entries = []
    for number, raw in enumerate(files.read_json(path, fix=DOWNLOAD_HINT, schema=RELEASE_SPLIT)):
        db_id, where = raw["db_id"], f"{path} entry {number}"
        if db_id not in db_schemas:
            raise PipelineError(f"{where}: database {db_id!r} is not in tables.json")
        if not database_path(spider_dir, db_id, where).exists():
            raise PipelineError(
                f"{where}: database file database/{db_id}/{db_id}.sqlite is missing from {spider_dir}; {DOWNLOAD_HINT}"
            )
        entries.append({field: raw[field] for field in FIELDS} | {"db_schema": db_schemas[db_id]})
    return entries


def schema_texts(spider_dir):
    """db_id -> schema text of every database of a release's tables.json, as in the study's Figure 1: 'Database: X',
    then 'Table t (c1, c2, ...)' per table."""
    texts = {}
    for database in files.read_json(Path(spider_dir) / "tables.json", fix=DOWNLOAD_HINT, schema=RELEASE_TABLES):
        lines = [f"Database: {database['db_id']}"]
        for table_index, table in enumerate(database["table_names_original"]):
            columns = [name for owner, name in database["column_names_original"] if owner == table_index]
            lines.append(f"Table {table} ({', '.join(columns)})")
        texts[database["db_id"]] = "\n".join(lines) + "\n"
    return texts


def read_release(spider_dir):
    """The official release's train (train_spider + train_others) and dev splits as prepared entries."""
    db_schemas = schema_texts(spider_dir)
    train = release_entries(spider_dir / "train_spider.json", db_schemas, spider_dir)
    if (spider_dir / "train_others.json").exists():
        train += release_entries(spider_dir / "train_others.json", db_schemas, spider_dir)
    return train, release_entries(spider_dir / "dev.json", db_schemas, spider_dir)


def fetch_release(spider_dir, repo, filename, revision, dev_size):
    """The release zip from the hub's dataset repo at a pinned revision, unpacked into spider_dir once checked; returns
    {repo, filename, revision, sha256}, also kept in spider_dir. A release already fetched there is reused."""
    source = {"repo": repo, "filename": filename, "revision": revision}
    record = spider_dir / HUB_RECORD
    if record.is_file():
        fetched = files.read_json(record, fix=f"delete {spider_dir} to fetch the release again")
        if isinstance(fetched, dict) and {key: fetched.get(key) for key in source} == source:
            return fetched
    if spider_dir.exists() and (not spider_dir.is_dir() or any(spider_dir.iterdir())):
        raise PipelineError(
            f"SPIDER_DIR={spider_dir} is not empty and holds no release fetched from {repo} at {revision[:12]}; point "
            f"SPIDER_DIR at a new folder to fetch it there, or at a release made by hand with SPIDER_SOURCE=local"
        )
    # Imported here: huggingface_hub fixes its cache folder and offline mode from the environment when first imported.
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    print(f"fetching {filename} of the dataset {repo} at revision {revision[:12]} from the Hugging Face hub")
    try:
        archive = hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset", revision=revision)
    except Exception as error:  # no network, the hub down, the repo or file gone: the same remedy for each
        reason = (
            "the hub is out of reach and the Hugging Face cache has no copy"
            if isinstance(error, LocalEntryNotFoundError)
            else (str(error).splitlines() or [type(error).__name__])[0]
        )
        raise PipelineError(f"could not fetch {filename} of {repo} at {revision[:12]} ({reason}); {BY_HAND}") from None
    source["sha256"] = files.sha256_file(archive)
    where = f"{filename} of {repo} at {revision[:12]} (sha256 {source['sha256'][:12]})"
    unpacking = spider_dir.with_name(f".{spider_dir.name}.unpacking")
    shutil.rmtree(unpacking, ignore_errors=True)
    try:
        try:
            with zipfile.ZipFile(archive) as release_zip:
                release_zip.extractall(unpacking)
        except (zipfile.BadZipFile, OSError) as error:
            raise PipelineError(f"{where} does not unzip ({error}); {BY_HAND}") from None
        found = (path.parent for path in unpacking.rglob("dev.json") if "__MACOSX" not in path.parts)
        # The outermost; with none, the zip's top folder, of which check_release says what it lacks.
        release = min(found, key=lambda folder: len(folder.parts), default=unpacking)
        check_release(release, dev_size, where)
        files.write_json(release / HUB_RECORD, source)
        spider_dir.parent.mkdir(parents=True, exist_ok=True)
        release.rename(spider_dir)  # an empty SPIDER_DIR (checked above) is replaced: rename(2) allows that
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    print(f"Spider release unpacked into {spider_dir} (zip sha256 {source['sha256']})")
    return source


def check_release(folder, dev_size, where):
    """The release's files are there, dev.json holds dev_size questions and every db_id has its database file."""
    missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
    if missing:
        raise PipelineError(f"{where} lacks {', '.join(missing)}; {BY_HAND}")
    splits = [
        files.read_json(folder / name, fix=BY_HAND, schema=RELEASE_SPLIT)
        for name in ("dev.json", "train_spider.json", "train_others.json")  # dev first; train_others.json optional
        if (folder / name).is_file()
    ]
    if len(splits[0]) != dev_size:
        raise PipelineError(f"{where}: its dev.json holds {len(splits[0]):,} questions, not {dev_size:,}; {BY_HAND}")
    db_ids = sorted({entry["db_id"] for split in splits for entry in split})
    absent = [db_id for db_id in db_ids if not database_path(folder, db_id, where).is_file()]
    if absent:
        raise PipelineError(
            f"{where} lacks the database files of {len(absent)} of its {len(db_ids)} databases "
            f"(database/{absent[0]}/{absent[0]}.sqlite first); {BY_HAND}"
        )


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
        for field in FIELDS:
            if len(row[field]) > max_chars:
                raise PipelineError(f"{where}: its {field} is over {max_chars:,} characters; correct it")
        database_path(".", row["db_id"], where)
        rows.append({field: row[field] for field in PREDICTION_LINE["required"]})
    if not rows:
        raise PipelineError(f"predictions file {path} holds no predictions")
    return rows


def evaluated_overlap(train, evaluated):
    """How many evaluated questions are also training examples (the study trained on the split it evaluated)."""
    trained = {tuple(entry[field] for field in FIELDS) for entry in train}
    return sum(tuple(entry[field] for field in FIELDS) in trained for entry in evaluated)


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
