"""Step 0: prepare Spider and MMLU for the later steps.

Spider comes from its official layout (SPIDER_DIR: dev.json, train_spider.json, train_others.json, tables.json,
database/); each entry becomes {db_id, question, query, db_schema} with the schema written as in the study's
Figure 1. MMLU comes from local CSVs in the original format (MMLU_DIR) or the Hugging Face dataset MMLU_DATASET;
MMLU_QUESTIONS_PER_SUBJECT test questions per subject are drawn with the seed, and the dev split is kept for the
few-shot prompts. Everything is checked before anything is written; files are written atomically with a manifest,
and a re-run with unchanged inputs does nothing.
"""

import json
import random
import sqlite3
import time

import common
import mmlu
import records
import spider

# ---------------------------------------------------------------------------------------------------------------
# Spider


def spider_input_files(spider_dir):
    """The files this step reads from the Spider folder, or a one-line error if the folder is not a Spider release."""
    if not spider_dir.is_dir():
        state = "is a file, not a folder" if spider_dir.exists() else "does not exist"
        raise common.PipelineError(f"Spider folder {spider_dir} {state}; {spider.DOWNLOAD_HINT}")
    required = [spider_dir / name for name in ("tables.json", "dev.json", "train_spider.json")]
    missing = [path.name for path in required if not path.exists()]
    if missing:
        raise common.PipelineError(f"Spider folder {spider_dir} lacks {', '.join(missing)}; {spider.DOWNLOAD_HINT}")
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


# ---------------------------------------------------------------------------------------------------------------
# MMLU


def prepare_mmlu():
    """N seeded test questions per subject with their category, and each subject's dev examples for the shots."""
    test, dev = [], {}
    for subject, category in common.MMLU_SUBJECTS.items():
        questions = mmlu.load_split(subject, "test")
        wanted = common.MMLU_QUESTIONS_PER_SUBJECT or len(questions)  # 0: every test question
        if wanted > len(questions):
            raise common.PipelineError(
                f"MMLU_QUESTIONS_PER_SUBJECT={wanted} but {subject} has only {len(questions)} test questions; lower it"
            )
        chosen = sorted(random.Random(f"{common.SEED}:{subject}").sample(range(len(questions)), wanted))
        test += [dict(questions[i], category=category) for i in chosen]
        dev[subject] = [dict(item, category=category) for item in mmlu.load_split(subject, "dev")]
        if len(dev[subject]) < common.MMLU_SHOTS:
            raise common.PipelineError(
                f"{subject} has {len(dev[subject])} dev examples, fewer than MMLU_SHOTS={common.MMLU_SHOTS}"
            )
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
        "inputs": {
            str(
                path.relative_to(common.PROJECT_DIR) if path.is_relative_to(common.PROJECT_DIR) else path
            ): records.sha256_file(path)
            for path in files
        },
        "settings": mmlu.preparation_settings(),
    }


def outputs_up_to_date(fingerprint):
    paths = common.PATHS
    outputs = (paths.spider_train, paths.spider_dev, paths.mmlu_test, paths.mmlu_dev)
    if not paths.prepared_manifest.exists() or not all(path.exists() for path in outputs):
        return False
    try:
        manifest = json.loads(paths.prepared_manifest.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False  # prepared again
    return isinstance(manifest, dict) and {key: manifest.get(key) for key in fingerprint} == fingerprint


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
        train, dev = spider.read_release(spider_dir)
        mmlu_test, mmlu_dev = prepare_mmlu()
        records.write_json(paths.spider_train, train)
        records.write_json(paths.spider_dev, dev)
        records.write_json(paths.mmlu_test, mmlu_test)
        records.write_json(paths.mmlu_dev, mmlu_dev)
        counts = {
            "spider_train": len(train),
            "spider_dev": len(dev),
            "mmlu_test": len(mmlu_test),
            "mmlu_dev": sum(len(items) for items in mmlu_dev.values()),
            "spider_train_databases": len({e["db_id"] for e in train}),
            "spider_dev_databases": len({e["db_id"] for e in dev}),
        }
        records.write_json(
            paths.prepared_manifest,
            dict(
                fingerprint,
                profile=common.PROFILE,
                counts=counts,
                spider_dir=str(spider_dir),
                seconds=round(time.time() - started, 2),
            ),
        )
        print(f"prepared into {paths.prepared}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
    build_local_model()


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.prepared)
