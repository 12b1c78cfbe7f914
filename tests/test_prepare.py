"""0_preparando_dados.py on the demo data, on real-format inputs, and on bad input."""

import contextlib
import csv
import json
import os
import shutil
import sqlite3
import time

import pytest

import common
from conftest import PROJECT_DIR, load_script, run_script, use_directories
from tradeoff import PipelineError, mmlu, spider

prepare = load_script("0_preparando_dados.py")
DEMO_SPIDER = PROJECT_DIR / "data" / "demo" / "spider"
DEMO_MMLU = PROJECT_DIR / "data" / "demo" / "mmlu"
REFERENCE = PROJECT_DIR.parent / "shared" / "reference-data"

# An entry in the official tables.json format (field names and layout as in the Spider release).
OFFICIAL_TABLES_ENTRY = {
    "db_id": "orchestra_hall",
    "table_names_original": ["Hall", "Concert_Night"],
    "table_names": ["hall", "concert night"],
    "column_names_original": [
        [-1, "*"],
        [0, "Hall_ID"],
        [0, "Name"],
        [0, "Seats"],
        [1, "Night_ID"],
        [1, "Hall_ID"],
        [1, "Date"],
    ],
    "column_names": [
        [-1, "*"],
        [0, "hall id"],
        [0, "name"],
        [0, "seats"],
        [1, "night id"],
        [1, "hall id"],
        [1, "date"],
    ],
    "column_types": ["text", "number", "text", "number", "number", "number", "text"],
    "primary_keys": [1, 4],
    "foreign_keys": [[5, 1]],
}


def test_schema_text_is_the_studys_figure_1_format(tmp_path):
    (tmp_path / "tables.json").write_text(json.dumps([OFFICIAL_TABLES_ENTRY]))
    entry = {"db_id": "orchestra_hall", "question": "How many halls?", "query": "SELECT count(*) FROM Hall"}
    for split in ("train_spider.json", "dev.json"):
        (tmp_path / split).write_text(json.dumps([entry]))
    (tmp_path / "database" / "orchestra_hall").mkdir(parents=True)
    (tmp_path / "database" / "orchestra_hall" / "orchestra_hall.sqlite").write_bytes(b"")
    train, dev = spider.read_release(tmp_path)
    assert (
        train
        == dev
        == [
            dict(
                entry,
                db_schema="Database: orchestra_hall\nTable Hall (Hall_ID, Name, Seats)\n"
                "Table Concert_Night (Night_ID, Hall_ID, Date)\n",
            )
        ]
    )


def test_demo_profile_writes_the_expected_files(prepared_demo):
    train = json.loads((prepared_demo / "spider_train.json").read_text())
    dev = json.loads((prepared_demo / "spider_dev.json").read_text())
    questions = json.loads((prepared_demo / "mmlu_test.json").read_text())
    shots = json.loads((prepared_demo / "mmlu_dev.json").read_text())
    manifest = json.loads((prepared_demo / "manifest.json").read_text())
    assert len(train) >= 200 and len(dev) >= 80
    for entry in train + dev:
        assert set(entry) == {"db_id", "question", "query", "db_schema"}
        assert entry["db_schema"].startswith(f"Database: {entry['db_id']}\nTable ") and "*" not in entry["db_schema"]
    # Unlike Spider, the demo trains on its dev databases too, never on its dev questions.
    assert {entry["db_id"] for entry in dev} <= {entry["db_id"] for entry in train}
    assert {entry["question"] for entry in train}.isdisjoint({entry["question"] for entry in dev})
    assert len(questions) == common.MMLU_QUESTIONS_PER_SUBJECT * len(common.MMLU_SUBJECTS)
    for item in questions:
        assert set(item) == {"question", "subject", "choices", "answer", "category"}
        assert len(item["choices"]) == 4 and item["answer"] in range(4)
        assert item["category"] == common.MMLU_SUBJECTS[item["subject"]]
    assert {subject: len(items) for subject, items in shots.items()} == {s: 5 for s in common.MMLU_SUBJECTS}
    assert manifest["counts"]["spider_train"] == len(train) and manifest["profile"] == "demo"
    assert manifest["settings"] == common.mmlu_settings()
    assert all(len(digest) == 64 for digest in manifest["inputs"].values())


def test_mmlu_sample_is_drawn_with_the_seed_and_stable(prepared_demo):
    def draw(seed, per_subject=common.MMLU_QUESTIONS_PER_SUBJECT):
        return mmlu.prepare(common.MMLU_SUBJECTS, per_subject, common.MMLU_SHOTS, seed, prepare.load_mmlu_split)[0]

    first = json.loads((prepared_demo / "mmlu_test.json").read_text())
    assert draw(common.SEED) == first
    assert draw(common.SEED + 1) != first
    with pytest.raises(PipelineError, match=r"MMLU_QUESTIONS_PER_SUBJECT=100000 but \w+ has only \d+ test questions"):
        draw(common.SEED, 100_000)


def test_rerun_with_unchanged_inputs_is_a_no_op(isolated_run, capsys):
    prepare.main()
    written = {path: path.stat().st_mtime_ns for path in common.PATHS.prepared.iterdir()}
    assert len(written) == 5
    prepare.main()
    assert "up to date" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in common.PATHS.prepared.iterdir()} == written


def test_mmlu_data_prepared_with_other_settings_is_refused(prepared_demo, tmp_path, monkeypatch):
    analysis = load_script("4_analise_mmlu.py")
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    analysis.read_questions()
    monkeypatch.setattr(common, "MMLU_QUESTIONS_PER_SUBJECT", 10)
    with pytest.raises(
        PipelineError, match=r"made with MMLU_QUESTIONS_PER_SUBJECT=20 \(now 10\); run 0_preparando_dados.py again"
    ):
        analysis.read_questions()


def test_a_database_shipped_as_sql_is_rebuilt_when_its_script_changes(tmp_path):
    script, database = tmp_path / "sql" / "shop.sql", tmp_path / "database" / "shop" / "shop.sqlite"
    script.parent.mkdir()

    def build(name):
        script.write_text(f"CREATE TABLE item (name TEXT); INSERT INTO item VALUES ('{name}');")
        later = database.stat().st_mtime + 1 if database.exists() else time.time()
        os.utime(script, (later, later))  # edited after the database was built (as a checkout or a pull leaves it)
        prepare.build_databases_from_sql(tmp_path)
        with contextlib.closing(sqlite3.connect(database)) as connection:
            return connection.execute("SELECT name FROM item").fetchall()

    assert build("a") == [("a",)]
    built = database.stat().st_mtime_ns
    prepare.build_databases_from_sql(tmp_path)  # unchanged: left as it is
    assert database.stat().st_mtime_ns == built
    assert build("b") == [("b",)]


@pytest.fixture
def spider_copy(tmp_path, monkeypatch):
    """A writable copy of the demo Spider folder, with its databases built, as SPIDER_DIR."""
    copy = tmp_path / "spider"
    shutil.copytree(DEMO_SPIDER, copy, ignore=shutil.ignore_patterns("database"))
    prepare.build_databases_from_sql(copy)
    monkeypatch.setattr(common, "SPIDER_DIR", str(copy))
    return copy


def test_missing_spider_folder_is_one_line_exit_2_and_writes_nothing(tmp_path):
    result = run_script(
        "0_preparando_dados.py",
        env={"SPIDER_DIR": str(tmp_path / "nowhere"), "PREPARED_DIR": str(tmp_path / "prepared")},
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "nowhere does not exist" in result.stderr and "yale-lily.github.io/spider" in result.stderr
    assert list(tmp_path.glob("prepared/**/*")) == []  # at most the folder its run lock was made in


def test_malformed_json_is_named(spider_copy, isolated_run):
    (spider_copy / "dev.json").write_text('[{"db_id": "x", ')
    with pytest.raises(PipelineError, match=r"dev.json is not valid JSON .*; download the official release by hand"):
        prepare.main()
    assert not common.PATHS.prepared.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "query",
            None,
            r"dev.json entry 3, field 'query': None is not of type 'string'; download the official release by hand",
        ),
        ("db_id", "atlantis", r"dev.json entry 3: database 'atlantis' is not in tables.json"),
    ],
)
def test_malformed_entry_is_named(spider_copy, isolated_run, field, value, message):
    dev = json.loads((spider_copy / "dev.json").read_text())
    dev[3][field] = value
    (spider_copy / "dev.json").write_text(json.dumps(dev))
    with pytest.raises(PipelineError, match=message):
        prepare.main()
    del dev[3][field]
    (spider_copy / "dev.json").write_text(json.dumps(dev))
    with pytest.raises(PipelineError, match=rf"dev.json entry 3: '{field}' is a required property; download"):
        prepare.main()
    assert not common.PATHS.prepared.exists()


def test_missing_database_is_named(spider_copy, isolated_run):
    db_id = json.loads((spider_copy / "dev.json").read_text())[0]["db_id"]
    (spider_copy / "sql" / f"{db_id}.sql").unlink()
    shutil.rmtree(spider_copy / "database" / db_id)
    with pytest.raises(
        PipelineError, match=rf"\.json entry \d+: database file database/{db_id}/{db_id}.sqlite is miss"
    ):
        prepare.main()
    assert not common.PATHS.prepared.exists()


@pytest.mark.parametrize(
    "cut, found", [(lambda row: row[:5], "found 5 fields"), (lambda row: row[:5] + ["E"], "found answer 'E'")]
)
def test_malformed_mmlu_row_is_named(tmp_path, isolated_run, monkeypatch, cut, found):
    copy = tmp_path / "mmlu"
    shutil.copytree(DEMO_MMLU, copy)
    path = copy / "test" / "philosophy_test.csv"
    rows = list(csv.reader(path.open()))
    rows[2] = cut(rows[2])
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    monkeypatch.setattr(common, "MMLU_DIR", str(copy))
    with pytest.raises(PipelineError, match=rf"philosophy_test.csv row 3 is malformed: .*{found}; MMLU_DIR must hold"):
        prepare.main()
    assert not common.PATHS.prepared.exists()


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference-data is absent (opt-in check)")
def test_loaders_on_the_real_reference_slices(tmp_path):
    """Real Spider and MMLU files: Figure 1's schema text and Figure 3's record, exactly."""
    release = tmp_path / "spider"  # the slice has no training split: an empty one beside links to its files
    release.mkdir()
    for name in ("tables.json", "dev.json", "database"):
        (release / name).symlink_to(REFERENCE / "spider-sample" / name)
    (release / "train_spider.json").write_text("[]")
    train, dev = spider.read_release(release)
    schema = (
        "Database: concert_singer\nTable stadium (Stadium_ID, Location, Name, Capacity, Highest, Lowest, Average)\n"
        "Table singer (Singer_ID, Name, Country, Song_Name, Song_release_year, Age, Is_male)\n"
        "Table concert (concert_ID, concert_Name, Theme, Stadium_ID, Year)\n"
        "Table singer_in_concert (concert_ID, Singer_ID)\n"
    )
    assert train == [] and len(dev) == 179
    assert dev[0] == {
        "db_id": "concert_singer",
        "question": "How many singers do we have?",
        "query": "SELECT count(*) FROM singer",
        "db_schema": schema,
    }
    items = mmlu.csv_rows(REFERENCE / "mmlu-sample" / "test" / "management_test.csv", "management")
    assert len(items) == 103
    t_group = next(item for item in items if item["question"] == "What is T-group training?")
    assert set(t_group) == {"question", "subject", "choices", "answer"} and t_group["answer"] == 3
    assert len(t_group["choices"]) == 4 and t_group["choices"][3] == "Team building activities involving learning"
