"""The MMLU benchmark: subjects and categories, the original files, the 4-shot prompt, one record per question,
scored as lm-evaluation-harness does (each answer letter's log-probability as the next token)."""

import csv
import random
import re

from tradeoff import PipelineError, files

LETTERS = ("A", "B", "C", "D")
# The original MMLU code's grouping (hendrycks/test categories.py, through its subcategories): 57 subjects.
SUBJECTS_BY_CATEGORY = {
    "STEM": "abstract_algebra astronomy college_biology college_chemistry college_computer_science "
    "college_mathematics college_physics computer_security conceptual_physics electrical_engineering "
    "elementary_mathematics high_school_biology high_school_chemistry high_school_computer_science "
    "high_school_mathematics high_school_physics high_school_statistics machine_learning",
    "humanities": "formal_logic high_school_european_history high_school_us_history high_school_world_history "
    "international_law jurisprudence logical_fallacies moral_disputes moral_scenarios philosophy prehistory "
    "professional_law world_religions",
    "social sciences": "econometrics high_school_geography high_school_government_and_politics "
    "high_school_macroeconomics high_school_microeconomics high_school_psychology human_sexuality "
    "professional_psychology public_relations security_studies sociology us_foreign_policy",
    "other": "anatomy business_ethics clinical_knowledge college_medicine global_facts human_aging management "
    "marketing medical_genetics miscellaneous nutrition professional_accounting professional_medicine virology",
}
ALL_SUBJECTS = {subject: name for name, subjects in SUBJECTS_BY_CATEGORY.items() for subject in subjects.split()}
# The settings that shape the prepared files (script 0 records them; script 4 and the report check them), by name.
PREPARATION_SETTINGS = ("SEED", "MMLU_SUBJECTS", "MMLU_SHOTS", "MMLU_QUESTIONS_PER_SUBJECT")
CSV_HINT = (
    "MMLU_DIR must hold dev/ and test/ with the original CSVs (https://people.eecs.berkeley.edu/~hendrycks/data.tar)"
)
# An answer in a short generation: "B", "B.", "(B)", "The answer is B", "Answer: B". Not the article "A" of
# "A student received...", and not a re-listed option line "A. <text>" followed by more options.
ANSWER_PATTERNS = (
    re.compile(r"(?i:answer)\s*(?:is|:)?\s*\(?([ABCD])\b"),
    re.compile(r"^\s*\(?([ABCD])\)?\s*(?:[.:)]\s*)?$"),
    re.compile(r"^\s*\(?([ABCD])\)?\s*[.:)](?!.*\n\s*\(?[ABCD][.:)])", re.DOTALL),
)


def csv_rows(path, subject):
    """Rows of an original MMLU CSV (no header: question, A, B, C, D, answer letter) as Figure 3's records."""
    if not path.is_file():
        raise PipelineError(f"MMLU file {path} is missing; {CSV_HINT}")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise PipelineError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); {CSV_HINT}") from None
    for line, row in enumerate(rows, 1):
        if len(row) != 6 or row[5].strip() not in LETTERS:
            found = f"{len(row)} fields" if len(row) != 6 else f"answer {row[5].strip()!r}"
            raise PipelineError(
                f"{path} row {line} is malformed: expected question, A, B, C, D and an answer letter A-D, "
                f"found {found}; {CSV_HINT}"
            )
    return [
        {"question": r[0], "subject": subject, "choices": r[1:5], "answer": LETTERS.index(r[5].strip())} for r in rows
    ]


def hub_rows(dataset, revision, subject, split):
    from datasets import load_dataset

    try:
        rows = load_dataset(dataset, subject, split=split, revision=revision)
    except Exception as error:  # the hub raises many kinds; all mean the same to the user
        raise PipelineError(
            f"cannot load {dataset}/{subject} at revision {revision} ({type(error).__name__}); check your network, "
            f"or set MMLU_DIR to a folder of the original CSVs"
        ) from None
    return [
        {"question": r["question"], "subject": subject, "choices": list(r["choices"]), "answer": int(r["answer"])}
        for r in rows
    ]


def prepare(subjects, questions_per_subject, shots, seed, load_split):
    """N test questions per subject drawn with the seed (0: all), with their category, and each subject's dev
    examples for the shots. load_split(subject, split) reads one split of one subject."""
    test, dev = [], {}
    for subject, category in subjects.items():
        questions = load_split(subject, "test")
        wanted = questions_per_subject or len(questions)
        if wanted > len(questions):
            raise PipelineError(
                f"MMLU_QUESTIONS_PER_SUBJECT={wanted} but {subject} has only {len(questions)} test questions; lower it"
            )
        chosen = sorted(random.Random(f"{seed}:{subject}").sample(range(len(questions)), wanted))
        test += [dict(questions[i], category=category) for i in chosen]
        dev[subject] = load_split(subject, "dev")
        if len(dev[subject]) < shots:
            raise PipelineError(f"{subject} has {len(dev[subject])} dev examples, fewer than MMLU_SHOTS={shots}")
    return test, dev


def question_block(item, with_answer):
    lines = [item["question"].strip()] + [f"{letter}. {choice}" for letter, choice in zip(LETTERS, item["choices"])]
    return "\n".join(lines + [f"Answer: {LETTERS[item['answer']]}" if with_answer else "Answer:"])


def subject_header(subject):
    return f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"


def prompt(tokenizer, item, dev_examples, shots, prompt_format):
    """The k-shot prompt of the original MMLU code, as lm-evaluation-harness builds it: "plain", the raw text;
    "chat", through the chat template, the header as the system turn (its --apply_chat_template mode)."""
    header = subject_header(item["subject"])
    body = "\n\n".join([question_block(shot, True) for shot in dev_examples[:shots]] + [question_block(item, False)])
    if prompt_format == "plain":
        return header + body
    conversation = [{"role": "system", "content": header}, {"role": "user", "content": body}]
    return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)


def answer_texts(prompt_format):
    """What is scored after the prompt: " A".." D" after "Answer:" (plain), the bare letter in a new turn (chat)."""
    return tuple((" " if prompt_format == "plain" else "") + letter for letter in LETTERS)


def generated_choice(text):
    """The answer letter of a short generation as an index 0-3, or None when it states no answer."""
    for pattern in ANSWER_PATTERNS:
        if match := pattern.search(text):
            return LETTERS.index(match.group(1).upper())
    return None


def record_key(prompt_text, item):
    """The digest of every input of a record: the prompt, the answer and the category the report counts it under
    (a subject moved to another category keeps its prompts)."""
    return files.digest(prompt_text, item["answer"], item["category"])


def evaluate_model(letter_log_probs, generate, path, items, prompts, lengths, made_with, batch_size):
    """Score one model on every question, resumable; records in question order. letter_log_probs(texts) gives each
    text's log-probabilities of the answer letters; generate(texts) a short greedy answer (None: no such column)."""
    keys = [record_key(text, item) for text, item in zip(prompts, items)]

    def record(item, log_probs, generated_text):
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

    def evaluate_batch(indices):
        texts = [prompts[i] for i in indices]
        generated = generate(texts) if generate else [None] * len(indices)
        return [record(items[i], scores, text) for i, scores, text in zip(indices, letter_log_probs(texts), generated)]

    return files.evaluate(path, made_with, keys, lengths, batch_size, evaluate_batch, f"mmlu {path.stem}")


def print_summary(key, records, categories):
    def accuracy(category=None):
        scores = [r["correct"] for r in records if category in (None, r["category"])]
        return f"{sum(scores) / len(scores):.3f}" if scores else "—"

    parts = ", ".join(f"{category} {accuracy(category)}" for category in categories)
    print(f"{key}: MMLU accuracy {accuracy()} (n={len(records)}; {parts})")
