"""The MMLU benchmark: the prepared questions, one record per question, one model's evaluation, its summary.

The score is the model's log-probability of each answer letter as the next token (one forward pass, never
unparseable). With MMLU_GENERATION_SCORE a second column parses the answer of a short greedy generation.
"""

import csv
import re

import common
import records
import runner
import stats
from prompts import MMLU_LETTERS, mmlu_answer_texts

# An answer in a short generation: "B", "B.", "(B)", "The answer is B", "Answer: B". Not the article "A" of
# "A student received...", and not a re-listed option line "A. <text>" followed by more options.
ANSWER_PATTERNS = (
    re.compile(r"(?i:answer)\s*(?:is|:)?\s*\(?([ABCD])\b"),
    re.compile(r"^\s*\(?([ABCD])\)?\s*(?:[.:)]\s*)?$"),
    re.compile(r"^\s*\(?([ABCD])\)?\s*[.:)](?!.*\n\s*\(?[ABCD][.:)])", re.DOTALL),
)


def generated_choice(text):
    """The answer letter of a short generation as an index 0-3, or None when it states no answer."""
    for pattern in ANSWER_PATTERNS:
        match = pattern.search(text)
        if match:
            return MMLU_LETTERS.index(match.group(1).upper())
    return None


# ---------------------------------------------------------------------------------------------------------------
# The original files


def csv_rows(path, subject):
    """Rows of an original MMLU CSV (no header: question, A, B, C, D, answer letter) as Figure 3's records."""
    if not path.exists():
        raise common.PipelineError(
            f"MMLU file {path} is missing; MMLU_DIR must hold dev/ and test/ with the "
            f"original CSVs (https://people.eecs.berkeley.edu/~hendrycks/data.tar)"
        )
    items = []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise common.PipelineError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); use the original MMLU CSVs"
        ) from None
    for line, row in enumerate(rows, 1):
        if len(row) != 6:
            raise common.PipelineError(
                f"{path} row {line} is malformed: expected 6 fields (question, A, B, C, D, "
                f"answer letter), found {len(row)}"
            )
        if row[5].strip() not in MMLU_LETTERS:
            raise common.PipelineError(
                f"{path} row {line} is malformed: the answer must be a letter A-D, found {row[5].strip()!r}"
            )
        items.append(
            {"question": row[0], "subject": subject, "choices": row[1:5], "answer": MMLU_LETTERS.index(row[5].strip())}
        )
    return items


def hub_rows(subject, split):
    from datasets import load_dataset

    try:
        dataset = load_dataset(common.MMLU_DATASET, subject, split=split)
    except Exception as error:  # the hub raises many kinds; all mean the same to the user
        raise common.PipelineError(
            f"cannot load {common.MMLU_DATASET}/{subject} ({type(error).__name__}); check "
            f"your network, or set MMLU_DIR to a folder of the original CSVs"
        ) from None
    return [
        {"question": row["question"], "subject": subject, "choices": list(row["choices"]), "answer": int(row["answer"])}
        for row in dataset
    ]


def load_split(subject, split):
    """One subject's split (dev or test) from MMLU_DIR's original CSVs, or from the hub dataset MMLU_DATASET."""
    if common.MMLU_DIR:
        return csv_rows(common.project_path(common.MMLU_DIR) / split / f"{subject}_{split}.csv", subject)
    return hub_rows(subject, split)


# ---------------------------------------------------------------------------------------------------------------
# Prepared questions and records


def preparation_settings():
    """The settings that shape the prepared MMLU files; 0_preparando_dados.py records them in its manifest."""
    return {
        "SEED": common.SEED,
        "MMLU_SUBJECTS": common.MMLU_SUBJECTS,
        "MMLU_SHOTS": common.MMLU_SHOTS,
        "MMLU_QUESTIONS_PER_SUBJECT": common.MMLU_QUESTIONS_PER_SUBJECT,
        "mmlu_source": common.MMLU_DIR or common.MMLU_DATASET,
    }


def read_questions():
    """The prepared test questions and each subject's dev examples, checked against this run's MMLU settings."""
    paths = common.PATHS
    recorded = records.read_json(paths.prepared_manifest)["settings"]
    for name, value in preparation_settings().items():
        if recorded.get(name) != value:
            raise common.PipelineError(
                f"the prepared MMLU data in {paths.prepared} was made with "
                f"{name}={recorded.get(name)!r} (now {value!r}); run {records.SCRIPTS[0]} again"
            )
    items, dev = records.read_json(paths.mmlu_test), records.read_json(paths.mmlu_dev)  # schemas.MMLU_TEST, _DEV
    for item in items:
        if item["subject"] not in dev or len(dev[item["subject"]]) < common.MMLU_SHOTS:
            raise common.PipelineError(
                f"{paths.mmlu_dev} lacks {common.MMLU_SHOTS} dev examples of subject "
                f"{item['subject']!r}; run {records.SCRIPTS[0]} again"
            )
    return items, dev


def question_record(item, log_probs, generated_text):
    predicted = max(range(len(log_probs)), key=log_probs.__getitem__)
    choice = generated_choice(generated_text) if generated_text is not None else None
    return {
        "subject": item["subject"],
        "category": item["category"],
        "answer": item["answer"],
        "letter_logprobs": log_probs,
        "predicted": predicted,
        "correct": int(predicted == item["answer"]),
        "generated_text": generated_text,
        "generated_choice": choice,
        "generated_correct": None if generated_text is None else int(choice == item["answer"]),
    }


def evaluate_model(model, tokenizer, key, items, prompts, lengths, made_with, batch_size):
    """Score one model on every question, resumable; its records in question order."""
    import modeling

    letter_ids = modeling.letter_token_ids(tokenizer, mmlu_answer_texts(common.MMLU_PROMPT_FORMAT))

    def evaluate_batch(indices):
        texts = [prompts[i] for i in indices]
        log_probs = modeling.letter_log_probs_batch(model, tokenizer, texts, letter_ids)
        generated = (
            modeling.generate_batch(model, tokenizer, texts, common.MMLU_GENERATION_TOKENS)
            if common.MMLU_GENERATION_SCORE
            else [None] * len(indices)
        )
        return [question_record(items[i], *outputs) for i, outputs in zip(indices, zip(log_probs, generated))]

    return runner.evaluate(
        records.results_path("mmlu", key), made_with, prompts, lengths, batch_size, evaluate_batch, f"mmlu {key}"
    )


def print_summary(key, model_records):
    overall = stats.summarize_scores([r["correct"] for r in model_records], ddof=stats.MMLU_STD_DDOF)
    parts = []
    for category in dict.fromkeys(common.MMLU_SUBJECTS.values()):
        scores = [r["correct"] for r in model_records if r["category"] == category]
        accuracy = stats.summarize_scores(scores, ddof=stats.MMLU_STD_DDOF)["accuracy"]
        parts.append(f"{category} {'—' if accuracy is None else f'{accuracy:.3f}'}")
    print(f"{key}: MMLU accuracy {overall['accuracy']:.3f} (n={overall['n']}; {', '.join(parts)})")
