"""The demo's MMLU CSVs (original format: question, A, B, C, D, answer letter; no header) as lm-eval docs shaped
like the hub dataset cais/mmlu ({question, subject, choices, answer: int}), so the mmlu task's own doc_to_text
applies unchanged. Read with the csv module, as 0_preparando_dados.py reads them: every field stays text."""

import csv
from pathlib import Path

import datasets

DEMO_MMLU_DIR = Path(__file__).resolve().parents[2] / "data" / "demo" / "mmlu"
LETTERS = "ABCD"


def csv_docs(path, subject):
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            {"question": row[0], "subject": subject, "choices": row[1:5], "answer": LETTERS.index(row[5].strip())}
            for row in csv.reader(handle)
        ]


def load_demo_mmlu(subject, **_metadata):
    """custom_dataset: lm-eval calls it with the task's metadata and dataset_kwargs (subject)."""
    return datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list(csv_docs(DEMO_MMLU_DIR / split / f"{subject}_{split}.csv", subject))
            for split in ("dev", "test")
        }
    )
