"""Step 0: prepare Spider and MMLU for the later steps.

Spider comes from its official layout (SPIDER_DIR: dev.json, train_spider.json, train_others.json, tables.json,
database/); each entry becomes {db_id, question, query, db_schema} with the schema written as in the study's
Figure 1. MMLU comes from local CSVs in the original format (MMLU_DIR) or the Hugging Face dataset MMLU_DATASET;
MMLU_QUESTIONS_PER_SUBJECT test questions per subject are drawn with the seed, and the dev split is kept for the
few-shot prompts. Everything is checked before anything is written; files are written atomically with a manifest,
and a re-run with unchanged inputs does nothing.
"""
import csv
import json
import random
import sqlite3
import time

import common
import mmlu
import records
from prompts import MMLU_LETTERS, schema_text

SPIDER_DOWNLOAD_HINT = ("download the official Spider release (https://yale-lily.github.io/spider) and unzip it "
                        "there, or set SPIDER_DIR to its folder")


# ---------------------------------------------------------------------------------------------------------------
# Spider

def spider_input_files(spider_dir):
    """The files this step reads from the Spider folder, or a one-line error if the folder is not a Spider release."""
    if not spider_dir.is_dir():
        state = "is a file, not a folder" if spider_dir.exists() else "does not exist"
        raise common.PipelineError(f"Spider folder {spider_dir} {state}; {SPIDER_DOWNLOAD_HINT}")
    required = [spider_dir / name for name in ("tables.json", "dev.json", "train_spider.json")]
    missing = [path.name for path in required if not path.exists()]
    if missing:
        raise common.PipelineError(f"Spider folder {spider_dir} lacks {', '.join(missing)}; {SPIDER_DOWNLOAD_HINT}")
    optional = [spider_dir / "train_others.json"]
    sql_scripts = sorted((spider_dir / "sql").glob("*.sql"))  # the demo ships its databases as SQL text
    return required + [path for path in optional if path.exists()] + sql_scripts


def build_databases_from_sql(folder):
    """Build database/<db_id>/<name>.sqlite from sql/<db_id>.sql (name = db_id) or sql/<db_id>/<name>.sql where it
    is missing: the demo ships its databases, and its test suite, as SQL text."""
    for script in sorted((folder / "sql").rglob("*.sql")):
        db_id = script.stem if script.parent == folder / "sql" else script.parent.name
        target = folder / "database" / db_id / f"{script.stem}.sqlite"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".sqlite.partial")
        partial.unlink(missing_ok=True)
        connection = sqlite3.connect(partial)
        try:
            connection.executescript(script.read_text(encoding="utf-8"))
            connection.commit()
        except sqlite3.Error as error:
            raise common.PipelineError(f"{script} does not build: {error}") from None
        finally:
            connection.close()
        partial.rename(target)


def load_json_list(path):
    data = records.read_json(path)
    if not isinstance(data, list):
        raise common.PipelineError(f"{path} should hold a JSON list of entries, found {type(data).__name__}")
    return data


def schema_texts(tables_file):
    """db_id -> the schema as in the study's Figure 1: original table and column names, no '*'."""
    schemas = {}
    for number, database in enumerate(load_json_list(tables_file)):
        try:
            tables = [(table, [name for owner, name in database["column_names_original"] if owner == table_index])
                      for table_index, table in enumerate(database["table_names_original"])]
            schemas[database["db_id"]] = schema_text(database["db_id"], tables)
        except (KeyError, TypeError, ValueError) as error:
            raise common.PipelineError(f"{tables_file} entry {number} is malformed (missing {error})") from None
    return schemas


def spider_entries(path, schemas, spider_dir):
    """One Spider split as {db_id, question, query, db_schema}; names the file and entry of anything malformed."""
    entries = []
    for number, raw in enumerate(load_json_list(path)):
        try:
            db_id, question, query = raw["db_id"], raw["question"], raw["query"]
        except (KeyError, TypeError):
            raise common.PipelineError(f"{path} entry {number} lacks db_id, question or query") from None
        if db_id not in schemas:
            raise common.PipelineError(f"{path} entry {number}: database {db_id!r} is not in tables.json")
        if not (spider_dir / "database" / db_id / f"{db_id}.sqlite").exists():
            raise common.PipelineError(f"{path} entry {number}: database file database/{db_id}/{db_id}.sqlite is "
                                       f"missing from {spider_dir}; {SPIDER_DOWNLOAD_HINT}")
        entries.append({"db_id": db_id, "question": question, "query": query, "db_schema": schemas[db_id]})
    return entries


def prepare_spider(spider_dir):
    schemas = schema_texts(spider_dir / "tables.json")
    train = spider_entries(spider_dir / "train_spider.json", schemas, spider_dir)
    if (spider_dir / "train_others.json").exists():
        train += spider_entries(spider_dir / "train_others.json", schemas, spider_dir)
    dev = spider_entries(spider_dir / "dev.json", schemas, spider_dir)
    return train, dev


# ---------------------------------------------------------------------------------------------------------------
# MMLU

def mmlu_csv_rows(path, subject):
    """Rows of an original MMLU CSV (no header: question, A, B, C, D, answer letter) as Figure 3's records."""
    if not path.exists():
        raise common.PipelineError(f"MMLU file {path} is missing; MMLU_DIR must hold dev/ and test/ with the "
                                   f"original CSVs (https://people.eecs.berkeley.edu/~hendrycks/data.tar)")
    items = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise common.PipelineError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); use the "
                                   f"original MMLU CSVs") from None
    for line, row in enumerate(rows, 1):
        if len(row) != 6:
            raise common.PipelineError(f"{path} row {line} is malformed: expected 6 fields (question, A, B, C, D, "
                                       f"answer letter), found {len(row)}")
        if row[5].strip() not in MMLU_LETTERS:
            raise common.PipelineError(f"{path} row {line} is malformed: the answer must be a letter A-D, found "
                                       f"{row[5].strip()!r}")
        items.append({"question": row[0], "subject": subject, "choices": row[1:5],
                      "answer": MMLU_LETTERS.index(row[5].strip())})
    return items


def mmlu_hub_rows(subject, split):
    from datasets import load_dataset

    try:
        dataset = load_dataset(common.MMLU_DATASET, subject, split=split)
    except Exception as error:  # the hub raises many kinds; all mean the same to the user
        raise common.PipelineError(f"cannot load {common.MMLU_DATASET}/{subject} ({type(error).__name__}); check "
                                   f"your network, or set MMLU_DIR to a folder of the original CSVs") from None
    return [{"question": row["question"], "subject": subject, "choices": list(row["choices"]),
             "answer": int(row["answer"])} for row in dataset]


def mmlu_split(subject, split):
    if common.MMLU_DIR:
        return mmlu_csv_rows(common.project_path(common.MMLU_DIR) / split / f"{subject}_{split}.csv", subject)
    return mmlu_hub_rows(subject, split)


def prepare_mmlu():
    """N seeded test questions per subject with their category, and each subject's dev examples for the shots."""
    test, dev = [], {}
    for subject, category in common.MMLU_SUBJECTS.items():
        questions = mmlu_split(subject, "test")
        wanted = common.MMLU_QUESTIONS_PER_SUBJECT or len(questions)  # 0: every test question
        if wanted > len(questions):
            raise common.PipelineError(f"MMLU_QUESTIONS_PER_SUBJECT={wanted} but {subject} has only "
                                       f"{len(questions)} test questions; lower it")
        chosen = sorted(random.Random(f"{common.SEED}:{subject}").sample(range(len(questions)), wanted))
        test += [dict(questions[i], category=category) for i in chosen]
        dev[subject] = [dict(item, category=category) for item in mmlu_split(subject, "dev")]
        if len(dev[subject]) < common.MMLU_SHOTS:
            raise common.PipelineError(f"{subject} has {len(dev[subject])} dev examples, fewer than "
                                       f"MMLU_SHOTS={common.MMLU_SHOTS}")
    return test, dev


def mmlu_input_files():
    if not common.MMLU_DIR:
        return []
    folder = common.project_path(common.MMLU_DIR)
    return [folder / split / f"{subject}_{split}.csv" for subject in common.MMLU_SUBJECTS for split in ("dev", "test")]


# ---------------------------------------------------------------------------------------------------------------
# Manifest: what these outputs were made from

def input_fingerprint(spider_dir):
    files = spider_input_files(spider_dir) + [path for path in mmlu_input_files() if path.exists()]
    return {
        "inputs": {str(path.relative_to(common.PROJECT_DIR) if path.is_relative_to(common.PROJECT_DIR) else path):
                   records.sha256_file(path) for path in files},
        "settings": mmlu.preparation_settings(),
    }


def outputs_up_to_date(fingerprint):
    paths = common.PATHS
    outputs = (paths.spider_train, paths.spider_dev, paths.mmlu_test, paths.mmlu_dev)
    if not paths.prepared_manifest.exists() or not all(path.exists() for path in outputs):
        return False
    try:
        manifest = json.loads(paths.prepared_manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    return {key: manifest.get(key) for key in fingerprint} == fingerprint


def build_local_model():
    """The profile's model, when the project builds it itself offline (the demo's tiny model)."""
    import modeling

    modeling.build_local_model()


def main():
    spider_dir = common.project_path(common.SPIDER_DIR)
    spider_input_files(spider_dir)  # fails early, before building anything, if the folder is not Spider
    build_databases_from_sql(spider_dir)
    if common.TEST_SUITE_DIR:
        build_databases_from_sql(common.project_path(common.TEST_SUITE_DIR))
    fingerprint = input_fingerprint(spider_dir)
    paths = common.PATHS
    if outputs_up_to_date(fingerprint):
        print(f"prepared data in {paths.prepared} is up to date with its inputs: nothing to do")
    else:
        started = time.time()
        train, dev = prepare_spider(spider_dir)
        mmlu_test, mmlu_dev = prepare_mmlu()
        records.write_json(paths.spider_train, train)
        records.write_json(paths.spider_dev, dev)
        records.write_json(paths.mmlu_test, mmlu_test)
        records.write_json(paths.mmlu_dev, mmlu_dev)
        counts = {"spider_train": len(train), "spider_dev": len(dev), "mmlu_test": len(mmlu_test),
                  "mmlu_dev": sum(len(items) for items in mmlu_dev.values()),
                  "spider_train_databases": len({e["db_id"] for e in train}),
                  "spider_dev_databases": len({e["db_id"] for e in dev})}
        records.write_json(paths.prepared_manifest, dict(fingerprint, profile=common.PROFILE, counts=counts,
                                                         spider_dir=str(spider_dir),
                                                         seconds=round(time.time() - started, 2)))
        print(f"prepared into {paths.prepared}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
    build_local_model()


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.prepared)
