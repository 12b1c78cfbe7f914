"""Checks on the project-made demo data (Spider and MMLU formats) shipped under data/demo/; the Spider questions are
templated by tools/demo_spider.py."""

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
SPIDER_DIR = DEMO_DIR / "spider"
MMLU_DIR = DEMO_DIR / "mmlu"

SPIDER_FILES = ["train_spider.json", "train_others.json", "dev.json"]
ENTRY_KEYS = {"db_id", "query", "query_toks", "query_toks_no_value", "question", "question_toks"}
SQL_TYPE_TO_SPIDER = {"INTEGER": "number", "REAL": "number", "TEXT": "text", "DATE": "time"}
MMLU_SUBJECTS = ["elementary_mathematics", "philosophy", "management"]

COVERAGE = {
    "JOIN": r"\bJOIN\b",
    "GROUP BY": r"\bGROUP\s+BY\b",
    "HAVING": r"\bHAVING\b",
    "ORDER BY": r"\bORDER\s+BY\b",
    "LIMIT": r"\bLIMIT\b",
    "nested SELECT": r"\(\s*SELECT\b",
    "set operation": r"\b(UNION|INTERSECT|EXCEPT)\b",
}


def load_split(name):
    return json.loads((SPIDER_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables():
    return json.loads((SPIDER_DIR / "tables.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built_dbs(tmp_path_factory):
    """Build database/<db_id>/<db_id>.sqlite from every sql/<db_id>.sql, as the pipeline does."""
    root = tmp_path_factory.mktemp("spider") / "database"
    paths = {}
    for sql_file in sorted((SPIDER_DIR / "sql").glob("*.sql")):
        db_id = sql_file.stem
        path = root / db_id / f"{db_id}.sqlite"
        path.parent.mkdir(parents=True)
        con = sqlite3.connect(path)
        try:
            con.executescript(sql_file.read_text(encoding="utf-8"))
            con.commit()
        finally:
            con.close()
        paths[db_id] = path
    return paths


def test_six_databases_with_sql_and_tables_entries(built_dbs, tables):
    assert len(built_dbs) == 6
    assert sorted(t["db_id"] for t in tables) == sorted(built_dbs)


def test_database_row_counts_and_foreign_key_integrity(built_dbs):
    for db_id, path in built_dbs.items():
        con = sqlite3.connect(path)
        try:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            assert 3 <= len(names) <= 5, db_id
            for name in names:
                (count,) = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
                assert 8 <= count <= 30, (db_id, name, count)
            assert con.execute("PRAGMA foreign_key_check").fetchall() == [], db_id
        finally:
            con.close()


def test_tables_json_matches_built_databases(built_dbs, tables):
    for entry in tables:
        db_id = entry["db_id"]
        n_cols = len(entry["column_names_original"])
        assert len(entry["column_names"]) == n_cols == len(entry["column_types"]), db_id
        assert entry["column_names_original"][0] == [-1, "*"] and entry["column_names"][0] == [-1, "*"]
        assert entry["table_names"] == [t.lower().replace("_", " ") for t in entry["table_names_original"]]
        assert set(entry["column_types"]) <= {"text", "number", "time", "others", "boolean"}

        con = sqlite3.connect(built_dbs[db_id])
        try:
            actual_tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
            ]
            assert entry["table_names_original"] == actual_tables, db_id

            expected_cols, expected_types, expected_pks = [[-1, "*"]], ["text"], []
            index = {}
            for t_idx, table in enumerate(actual_tables):
                for _cid, col, col_type, _nn, _default, pk in con.execute(f'PRAGMA table_info("{table}")'):
                    index[(table.lower(), col.lower())] = len(expected_cols)
                    if pk:
                        expected_pks.append(len(expected_cols))
                    expected_cols.append([t_idx, col])
                    expected_types.append(SQL_TYPE_TO_SPIDER[col_type.upper()])
            assert entry["column_names_original"] == expected_cols, db_id
            assert entry["column_types"] == expected_types, db_id
            assert entry["primary_keys"] == expected_pks, db_id
            for (t_idx, name), (t_idx2, orig) in zip(entry["column_names"], entry["column_names_original"]):
                assert t_idx == t_idx2 and name == (orig if t_idx < 0 else orig.lower().replace("_", " "))

            expected_fks = []
            for table in actual_tables:
                for row in con.execute(f'PRAGMA foreign_key_list("{table}")'):
                    ref_table, from_col, to_col = row[2], row[3], row[4]
                    expected_fks.append(
                        [index[(table.lower(), from_col.lower())], index[(ref_table.lower(), to_col.lower())]]
                    )
            assert sorted(entry["foreign_keys"]) == sorted(expected_fks), db_id
            assert entry["foreign_keys"], f"{db_id} has no foreign keys"
            for src, dst in entry["foreign_keys"]:
                assert 0 < src < n_cols and 0 < dst < n_cols and src != dst
        finally:
            con.close()


@pytest.mark.parametrize("split", SPIDER_FILES)
def test_entries_are_well_formed(split):
    data = load_split(split)
    for entry in data:
        assert ENTRY_KEYS <= set(entry), entry
        assert entry["question"].strip() and entry["query"].strip()
        assert entry["question_toks"] and entry["query_toks"]
        assert all(t == t.lower() for t in entry["query_toks_no_value"])


@pytest.mark.parametrize("split", SPIDER_FILES)
def test_gold_queries_execute(split, built_dbs):
    data = load_split(split)
    connections = {}
    non_empty = 0
    try:
        for entry in data:
            db_id = entry["db_id"]
            assert db_id in built_dbs, db_id
            if db_id not in connections:
                connections[db_id] = sqlite3.connect(built_dbs[db_id])
            rows = connections[db_id].execute(entry["query"]).fetchall()
            if rows and rows != [(None,)]:
                non_empty += 1
    finally:
        for con in connections.values():
            con.close()
    assert non_empty >= 0.9 * len(data), f"{split}: only {non_empty}/{len(data)} non-empty results"


def test_split_sizes_and_shared_databases():
    """Unlike Spider, the training split covers the dev databases (README, "The demo"); the dev questions and queries
    themselves never occur in it."""
    splits = {name: load_split(name) for name in SPIDER_FILES}
    db_ids = {name: {e["db_id"] for e in data} for name, data in splits.items()}
    assert len(splits["train_spider.json"]) >= 210
    assert 20 <= len(splits["train_others.json"]) <= 30
    assert len(splits["dev.json"]) >= 100
    assert len(db_ids["train_spider.json"]) == 5
    assert len(db_ids["train_others.json"]) == 1
    assert len(db_ids["dev.json"]) == 2
    assert not (db_ids["train_spider.json"] & db_ids["train_others.json"])
    assert db_ids["dev.json"] <= db_ids["train_spider.json"]
    train = splits["train_spider.json"] + splits["train_others.json"]
    seen = {e["question"] for e in train} | {e["query"] for e in train}
    assert not [e for e in splits["dev.json"] if e["question"] in seen or e["query"] in seen]
    for data in splits.values():  # each question once per split
        assert len({e["question"] for e in data}) == len({e["query"] for e in data}) == len(data)

    # dev.json is grouped by database, like the official release
    dev_order = [e["db_id"] for e in splits["dev.json"]]
    groups = [d for i, d in enumerate(dev_order) if i == 0 or dev_order[i - 1] != d]
    assert len(groups) == len(set(groups))


def test_question_files_are_what_the_generator_writes():
    """tools/demo_spider.py writes the three files from the databases and the seed: edit it, not the files."""
    from tools import demo_spider

    assert demo_spider.spider_files() == {name: load_split(name) for name in SPIDER_FILES}


@pytest.mark.parametrize("split", SPIDER_FILES)
def test_query_coverage(split):
    queries = [e["query"] for e in load_split(split)]
    for label, pattern in COVERAGE.items():
        assert any(re.search(pattern, q, re.IGNORECASE) for q in queries), f"{split} lacks {label}"


def test_spider_demo_sources_are_small_text():
    """The committed sources (databases are built from sql/ at preparation time, under the ignored database/)."""
    sources = [p for p in SPIDER_DIR.rglob("*") if p.is_file() and "database" not in p.relative_to(SPIDER_DIR).parts]
    assert sum(p.stat().st_size for p in sources) < 500_000
    assert all(p.suffix in (".sql", ".json") for p in sources)


def read_mmlu(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("subject", MMLU_SUBJECTS)
@pytest.mark.parametrize("part", ["dev", "test"])
def test_mmlu_csv_format(subject, part):
    rows = read_mmlu(MMLU_DIR / part / f"{subject}_{part}.csv")
    if part == "dev":
        assert len(rows) == 5
    else:
        assert len(rows) >= 20
    for row in rows:
        assert len(row) == 6, row
        assert all(field.strip() for field in row[:5]), row
        assert row[5] in {"A", "B", "C", "D"}, row
        assert len(set(row[1:5])) == 4, row
    assert len({row[5] for row in rows}) > 1


def test_mmlu_answers_balanced_and_quoting_exercised():
    test_rows = [r for s in MMLU_SUBJECTS for r in read_mmlu(MMLU_DIR / "test" / f"{s}_test.csv")]
    letters = [r[5] for r in test_rows]
    for letter in "ABCD":
        assert letters.count(letter) >= len(letters) // 8, letters
    fields = [f for r in test_rows for f in r[:5]]
    assert any("," in f for f in fields)
    assert any('"' in f for f in fields)
