"""Step 0: prepare Spider (its official release, fetched from the hub when SPIDER_SOURCE asks for it) and MMLU (CSVs
or the hub) for the later steps, as README describes; then build a model the project makes itself (MODEL_BUILDER).
Everything is checked before anything is written, and a re-run with unchanged inputs does nothing.
"""

import contextlib
import importlib
import sqlite3
import time

import common
import tools
from tradeoff import PipelineError, files, mmlu, spider

PATHS = common.PATHS


def spider_input_files(spider_dir):
    """The files read from the Spider folder, or one line if the folder is not a Spider release."""
    if not spider_dir.is_dir():
        state = "is a file, not a folder" if spider_dir.exists() else "does not exist"
        raise PipelineError(f"Spider folder {spider_dir} {state}; {spider.DOWNLOAD_HINT}")
    required = [spider_dir / name for name in spider.RELEASE_FILES]
    missing = [path.name for path in required if not path.exists()]
    if missing:
        raise PipelineError(f"Spider folder {spider_dir} lacks {', '.join(missing)}; {spider.DOWNLOAD_HINT}")
    others = [path for path in [spider_dir / "train_others.json"] if path.exists()]
    return required + others + sorted((spider_dir / "sql").rglob("*.sql"))  # the demo ships databases as SQL


def build_databases_from_sql(folder):
    """database/<db_id>/<name>.sqlite from sql/<db_id>.sql (name = db_id) or sql/<db_id>/<name>.sql, where missing or
    older than its script: the demo ships its databases, and its test suite, as SQL text."""
    for script in sorted((folder / "sql").rglob("*.sql")):
        db_id = script.stem if script.parent == folder / "sql" else script.parent.name
        target = folder / "database" / db_id / f"{script.stem}.sqlite"
        if target.exists() and target.stat().st_mtime >= script.stat().st_mtime:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".sqlite.partial")
        partial.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(partial)) as connection:
            try:
                connection.executescript(script.read_text(encoding="utf-8"))
            except sqlite3.Error as error:
                raise PipelineError(f"{script} does not build: {error}") from None
            connection.commit()
        partial.rename(target)


def load_mmlu_split(subject, split):
    if common.MMLU_DIR:
        return mmlu.csv_rows(common.project_path(common.MMLU_DIR) / split / f"{subject}_{split}.csv", subject)
    return mmlu.hub_rows(common.MMLU_DATASET, common.MMLU_REVISION, subject, split)


def fingerprint(spider_dir):
    """What the prepared files are made from: each input file's hash and the MMLU settings."""
    inputs = spider_input_files(spider_dir)
    if common.MMLU_DIR:
        folder = common.project_path(common.MMLU_DIR)
        inputs += [p for s in common.MMLU_SUBJECTS for p in sorted(folder.glob(f"*/{s}_*.csv"))]
    project = common.PROJECT_DIR
    names = [str(path.relative_to(project) if path.is_relative_to(project) else path) for path in inputs]
    record = spider_dir / spider.HUB_RECORD  # the zip the release was fetched as, if it came from the hub
    release = files.read_json(record) if record.is_file() else "a folder made by hand"
    return {
        "inputs": {name: files.sha256_file(path) for name, path in zip(names, inputs)},
        "settings": common.mmlu_settings(),
        "spider_release": release,
    }


def up_to_date(made_from, prepared):
    manifest = files.read_object(PATHS.prepared_manifest)  # absent or torn: prepared again
    return all(path.exists() for path in prepared) and {key: manifest.get(key) for key in made_from} == made_from


def main():
    if not files.is_main_process():  # under several processes, one prepares the data
        return
    spider_dir = common.project_path(common.SPIDER_DIR)
    if common.SPIDER_SOURCE == "hub" or (common.SPIDER_SOURCE == "auto" and not (spider_dir / "dev.json").exists()):
        pinned_zip = common.SPIDER_HUB_REPO, common.SPIDER_HUB_FILE, common.SPIDER_HUB_REVISION
        spider.fetch_release(spider_dir, *pinned_zip, common.SPIDER_HUB_DEV_SIZE)
    spider_input_files(spider_dir)  # fails before building anything if the folder is not Spider
    build_databases_from_sql(spider_dir)
    if common.TEST_SUITE_DIR:
        build_databases_from_sql(common.project_path(common.TEST_SUITE_DIR))
    made_from = fingerprint(spider_dir)
    prepared = (PATHS.spider_train, PATHS.spider_dev, PATHS.mmlu_test, PATHS.mmlu_dev)
    if up_to_date(made_from, prepared):
        print(f"prepared data in {PATHS.prepared} is up to date with its inputs: nothing to do")
    else:
        started = time.time()
        train, dev = spider.read_release(spider_dir)
        mmlu_test, mmlu_dev = mmlu.prepare(
            common.MMLU_SUBJECTS, common.MMLU_QUESTIONS_PER_SUBJECT, common.MMLU_SHOTS, common.SEED, load_mmlu_split
        )
        for path, data in zip(prepared, (train, dev, mmlu_test, mmlu_dev)):
            files.write_json(path, data)
        counts = {
            "spider_train": len(train),
            "spider_dev": len(dev),
            "mmlu_test": len(mmlu_test),
            "mmlu_dev": sum(len(items) for items in mmlu_dev.values()),
            "spider_train_databases": len({e["db_id"] for e in train}),
            "spider_dev_databases": len({e["db_id"] for e in dev}),
        }
        manifest = dict(made_from, profile=common.PROFILE, counts=counts, spider_dir=str(spider_dir))
        files.write_json(PATHS.prepared_manifest, dict(manifest, seconds=round(time.time() - started, 2)))
        print(f"prepared into {PATHS.prepared}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
    if common.MODEL_BUILDER:
        builder = importlib.import_module(f"tools.{common.MODEL_BUILDER}")
        tools.ensure_built(builder, common.project_path(common.MODEL_NAME))


if __name__ == "__main__":
    files.run_main(main, PATHS.prepared)
