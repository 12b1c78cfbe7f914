"""extract_sql on real raw outputs of SmolLM2-135M-Instruct (demo dev questions, 0-shot and 3-shot prompts as scripts
2 and 3 render them, greedy, 128 new tokens), each with the SQL a careful reader takes from it (fixed by hand)."""

import json
from pathlib import Path

import pytest

from conftest import SQL_LIMITS
from tradeoff.sql_scoring import extract_sql

FIXTURE = Path(__file__).parent / "fixtures" / "smol_raw_outputs.jsonl"
RECORDS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("record", RECORDS, ids=[f"{i}-{r['db_id']}" for i, r in enumerate(RECORDS)])
def test_real_output(record):
    assert extract_sql(record["raw_output"], SQL_LIMITS) == record["expected_sql"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            "SELECT * FROM stadium WHERE stadium_ID = 2013;\n```\n\nThis query will return the name.",
            "SELECT * FROM stadium WHERE stadium_ID = 2013",
        ),
        ("The query is `SELECT count(*) FROM singer`.", "SELECT count(*) FROM singer"),
    ],
)
def test_known_cases(raw, expected):
    assert extract_sql(raw, SQL_LIMITS) == expected
