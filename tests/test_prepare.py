"""0_preparando_dados.py on the demo data, on real-format inputs, and on bad input."""

import csv
import json
import shutil

import pytest

import common
import mmlu
import spider
from conftest import PROJECT_DIR, load_script, run_script, use_directories

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
    path = tmp_path / "tables.json"
    path.write_text(json.dumps([OFFICIAL_TABLES_ENTRY]))
    assert spider.schema_texts(path) == {
        "orchestra_hall": "Database: orchestra_hall\nTable Hall (Hall_ID, Name, Seats)\n"
        "Table Concert_Night (Night_ID, Hall_ID, Date)\n"
    }


def test_demo_profile_writes_the_expected_files(prepared_demo):
    train = json.loads((prepared_demo / "spider_train.json").read_text())
    dev = json.loads((prepared_demo / "spider_dev.json").read_text())
    mmlu = json.loads((prepared_demo / "mmlu_test.json").read_text())
    shots = json.loads((prepared_demo / "mmlu_dev.json").read_text())
    manifest = json.loads((prepared_demo / "manifest.json").read_text())
    assert len(train) >= 200 and len(dev) >= 80
    for entry in train + dev:
        assert set(entry) == {"db_id", "question", "query", "db_schema"}
        assert entry["db_schema"].startswith(f"Database: {entry['db_id']}\nTable ") and "*" not in entry["db_schema"]
    assert {entry["db_id"] for entry in train}.isdisjoint({entry["db_id"] for entry in dev})
    per_subject = common.MMLU_QUESTIONS_PER_SUBJECT
    assert len(mmlu) == per_subject * len(common.MMLU_SUBJECTS)
    for item in mmlu:
        assert set(item) == {"question", "subject", "choices", "answer", "category"}
        assert len(item["choices"]) == 4 and item["answer"] in range(4)
        assert item["category"] == common.MMLU_SUBJECTS[item["subject"]]
    assert {subject: len(items) for subject, items in shots.items()} == {s: 5 for s in common.MMLU_SUBJECTS}
    assert manifest["counts"]["spider_train"] == len(train) and manifest["profile"] == "demo"
    assert all(len(digest) == 64 for digest in manifest["inputs"].values())


def test_mmlu_sample_is_drawn_with_the_seed_and_stable(prepared_demo, isolated_run):
    first = json.loads((prepared_demo / "mmlu_test.json").read_text())
    again, _ = prepare.prepare_mmlu()
    assert again == first


def test_rerun_with_unchanged_inputs_is_a_no_op(isolated_run, capsys):
    prepare.main()
    written = {path: path.stat().st_mtime_ns for path in common.PATHS.prepared.iterdir()}
    prepare.main()
    assert "up to date" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in common.PATHS.prepared.iterdir()} == written


def test_mmlu_data_prepared_with_other_settings_is_refused(prepared_demo, tmp_path, monkeypatch):
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    mmlu.read_questions()
    monkeypatch.setattr(common, "MMLU_QUESTIONS_PER_SUBJECT", 10)
    with pytest.raises(
        common.PipelineError,
        match=r"made with MMLU_QUESTIONS_PER_SUBJECT=20 \(now 10\); run "
        r"0_preparando_dados.py again",
    ):
        mmlu.read_questions()


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
    assert not (tmp_path / "prepared").exists()


def test_malformed_json_is_named(spider_copy, isolated_run):
    (spider_copy / "dev.json").write_text('[{"db_id": "x", ')
    with pytest.raises(common.PipelineError, match=r"dev.json is not valid JSON"):
        prepare.main()
    assert not common.PATHS.prepared.exists()


def test_entry_without_fields_is_named(spider_copy, isolated_run):
    dev = json.loads((spider_copy / "dev.json").read_text())
    del dev[3]["query"]
    (spider_copy / "dev.json").write_text(json.dumps(dev))
    with pytest.raises(
        common.PipelineError, match=r"dev.json entry 3: .query. is a required property; download the official Spider"
    ):
        prepare.main()


def test_missing_database_is_named(spider_copy, isolated_run):
    db_id = json.loads((spider_copy / "dev.json").read_text())[0]["db_id"]
    (spider_copy / "sql" / f"{db_id}.sql").unlink()
    shutil.rmtree(spider_copy / "database" / db_id)
    with pytest.raises(common.PipelineError, match=rf"database/{db_id}/{db_id}.sqlite is missing"):
        prepare.main()
    assert not common.PATHS.prepared.exists()


def test_malformed_mmlu_row_is_named(tmp_path, isolated_run, monkeypatch):
    copy = tmp_path / "mmlu"
    shutil.copytree(DEMO_MMLU, copy)
    path = copy / "test" / "philosophy_test.csv"
    rows = list(csv.reader(path.open()))
    rows[2] = rows[2][:5]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    monkeypatch.setattr(common, "MMLU_DIR", str(copy))
    with pytest.raises(common.PipelineError, match=r"philosophy_test.csv row 3 is malformed"):
        prepare.main()


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference-data is absent (opt-in check)")
def test_loaders_on_the_real_reference_slices(tmp_path, isolated_run, monkeypatch):
    """Real Spider and MMLU files: Figure 1's schema text and Figure 3's record, exactly."""
    release = REFERENCE / "spider-sample"
    schemas = spider.schema_texts(release / "tables.json")
    assert schemas["concert_singer"] == (
        "Database: concert_singer\nTable stadium (Stadium_ID, Location, Name, Capacity, Highest, Lowest, Average)\n"
        "Table singer (Singer_ID, Name, Country, Song_Name, Song_release_year, Age, Is_male)\n"
        "Table concert (concert_ID, concert_Name, Theme, Stadium_ID, Year)\n"
        "Table singer_in_concert (concert_ID, Singer_ID)\n"
    )
    dev = spider.release_entries(release / "dev.json", schemas, release)
    assert dev[0] == {
        "db_id": "concert_singer",
        "question": "How many singers do we have?",
        "query": "SELECT count(*) FROM singer",
        "db_schema": schemas["concert_singer"],
    }
    items = mmlu.csv_rows(REFERENCE / "mmlu-sample" / "test" / "management_test.csv", "management")
    assert len(items) == 103
    t_group = next(item for item in items if item["question"] == "What is T-group training?")
    assert t_group["answer"] == 3 and t_group["choices"][3] == "Team building activities involving learning"
