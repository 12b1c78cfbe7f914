"""tradeoff/mmlu.py: the 57 subjects in the original MMLU categories, checked against the sources' own tables; the
answer of a short generation.

Where the facts below come from:
- Categories: the original MMLU code, hendrycks/test `categories.py`, maps each subject to a subcategory
  (`subcategories`) and each subcategory to one of four categories (`categories`); both tables are copied here.
- lm-evaluation-harness (lm_eval/tasks/mmlu/_generate_configs.py and each default/mmlu_<subject>.yaml's group)
  agrees on 56 subjects and puts anatomy in stem (the original: anatomy -> health -> other).
- Test questions per subject: the `dataset_info` split sizes of the Hugging Face MMLU copies (`all` test: 14,042);
  management = 103 rows in the original management_test.csv.
"""

import pytest

from tradeoff import PipelineError, mmlu

# hendrycks/test categories.py: subject -> subcategory (each list there has exactly one element).
SUBCATEGORIES = {
    "abstract_algebra": "math",
    "anatomy": "health",
    "astronomy": "physics",
    "business_ethics": "business",
    "clinical_knowledge": "health",
    "college_biology": "biology",
    "college_chemistry": "chemistry",
    "college_computer_science": "computer science",
    "college_mathematics": "math",
    "college_medicine": "health",
    "college_physics": "physics",
    "computer_security": "computer science",
    "conceptual_physics": "physics",
    "econometrics": "economics",
    "electrical_engineering": "engineering",
    "elementary_mathematics": "math",
    "formal_logic": "philosophy",
    "global_facts": "other",
    "high_school_biology": "biology",
    "high_school_chemistry": "chemistry",
    "high_school_computer_science": "computer science",
    "high_school_european_history": "history",
    "high_school_geography": "geography",
    "high_school_government_and_politics": "politics",
    "high_school_macroeconomics": "economics",
    "high_school_mathematics": "math",
    "high_school_microeconomics": "economics",
    "high_school_physics": "physics",
    "high_school_psychology": "psychology",
    "high_school_statistics": "math",
    "high_school_us_history": "history",
    "high_school_world_history": "history",
    "human_aging": "health",
    "human_sexuality": "culture",
    "international_law": "law",
    "jurisprudence": "law",
    "logical_fallacies": "philosophy",
    "machine_learning": "computer science",
    "management": "business",
    "marketing": "business",
    "medical_genetics": "health",
    "miscellaneous": "other",
    "moral_disputes": "philosophy",
    "moral_scenarios": "philosophy",
    "nutrition": "health",
    "philosophy": "philosophy",
    "prehistory": "history",
    "professional_accounting": "other",
    "professional_law": "law",
    "professional_medicine": "health",
    "professional_psychology": "psychology",
    "public_relations": "politics",
    "security_studies": "politics",
    "sociology": "culture",
    "us_foreign_policy": "politics",
    "virology": "health",
    "world_religions": "philosophy",
}

# hendrycks/test categories.py: category -> its subcategories.
CATEGORY_SUBCATEGORIES = {
    "STEM": ("physics", "chemistry", "biology", "computer science", "math", "engineering"),
    "humanities": ("history", "philosophy", "law"),
    "social sciences": ("politics", "culture", "economics", "geography", "psychology"),
    "other": ("other", "business", "health"),
}

# Test questions per subject (dev has 5 per subject).
TEST_QUESTIONS = {
    "abstract_algebra": 100,
    "anatomy": 135,
    "astronomy": 152,
    "business_ethics": 100,
    "clinical_knowledge": 265,
    "college_biology": 144,
    "college_chemistry": 100,
    "college_computer_science": 100,
    "college_mathematics": 100,
    "college_medicine": 173,
    "college_physics": 102,
    "computer_security": 100,
    "conceptual_physics": 235,
    "econometrics": 114,
    "electrical_engineering": 145,
    "elementary_mathematics": 378,
    "formal_logic": 126,
    "global_facts": 100,
    "high_school_biology": 310,
    "high_school_chemistry": 203,
    "high_school_computer_science": 100,
    "high_school_european_history": 165,
    "high_school_geography": 198,
    "high_school_government_and_politics": 193,
    "high_school_macroeconomics": 390,
    "high_school_mathematics": 270,
    "high_school_microeconomics": 238,
    "high_school_physics": 151,
    "high_school_psychology": 545,
    "high_school_statistics": 216,
    "high_school_us_history": 204,
    "high_school_world_history": 237,
    "human_aging": 223,
    "human_sexuality": 131,
    "international_law": 121,
    "jurisprudence": 108,
    "logical_fallacies": 163,
    "machine_learning": 112,
    "management": 103,
    "marketing": 234,
    "medical_genetics": 100,
    "miscellaneous": 783,
    "moral_disputes": 346,
    "moral_scenarios": 895,
    "nutrition": 306,
    "philosophy": 311,
    "prehistory": 324,
    "professional_accounting": 282,
    "professional_law": 1534,
    "professional_medicine": 272,
    "professional_psychology": 612,
    "public_relations": 110,
    "security_studies": 245,
    "sociology": 201,
    "us_foreign_policy": 100,
    "virology": 166,
    "world_religions": 171,
}

# lm-evaluation-harness differs from the original on this subject only.
LM_EVAL_CATEGORIES = {**mmlu.ALL_SUBJECTS, "anatomy": "STEM"}


def subjects_in(category, mapping=mmlu.ALL_SUBJECTS):
    return sorted(subject for subject, name in mapping.items() if name == category)


def questions_in(category, mapping=mmlu.ALL_SUBJECTS):
    return sum(TEST_QUESTIONS[subject] for subject in subjects_in(category, mapping))


def test_57_subjects_in_the_original_categories():
    assert len(mmlu.ALL_SUBJECTS) == 57 and set(TEST_QUESTIONS) == set(SUBCATEGORIES) == set(mmlu.ALL_SUBJECTS)
    original = {
        subject: next(name for name, members in CATEGORY_SUBCATEGORIES.items() if subcategory in members)
        for subject, subcategory in SUBCATEGORIES.items()
    }
    assert mmlu.ALL_SUBJECTS == original
    sizes = {category: len(subjects_in(category)) for category in CATEGORY_SUBCATEGORIES}
    assert sizes == {"STEM": 18, "humanities": 13, "social sciences": 12, "other": 14}


def test_lm_eval_moves_only_anatomy_to_stem():
    sizes = {category: len(subjects_in(category, LM_EVAL_CATEGORIES)) for category in CATEGORY_SUBCATEGORIES}
    assert sizes == {"STEM": 19, "humanities": 13, "social sciences": 12, "other": 13}


def test_test_questions_total_and_per_category():
    assert sum(TEST_QUESTIONS.values()) == 14_042
    # Per-category question counts under each grouping: they differ by anatomy's 135 questions only.
    original = {category: questions_in(category) for category in CATEGORY_SUBCATEGORIES}
    assert original == {"STEM": 3018, "humanities": 4705, "social sciences": 3077, "other": 3242}
    lm_eval = {category: questions_in(category, LM_EVAL_CATEGORIES) for category in CATEGORY_SUBCATEGORIES}
    assert lm_eval == {"STEM": 3153, "humanities": 4705, "social sciences": 3077, "other": 3107}


@pytest.mark.parametrize(
    "text, choice",
    [
        ("B", 1),
        ("C. Kant", 2),
        ("The answer is D", 3),
        ("Answer: (B)", 1),
        ("(A)", 0),
        ("", None),
        ("answer unclear", None),
        ("A or B", None),
        ("A student received scores of 76", None),
        ("A. 12\nB. 13\nC. 14\nD. 15", None),
        ("the answer is a number", None),
    ],
)
def test_generated_answer_parses_an_answer_not_the_first_capital(text, choice):
    assert mmlu.generated_choice(text) == choice


def test_hub_rows_ask_for_the_pinned_revision_and_fail_in_one_line(monkeypatch):
    import datasets

    import common

    asked = []

    def load_dataset(path, name, split, revision):
        asked.append((path, name, split, revision))
        if revision != common.MMLU_REVISION:
            raise FileNotFoundError(revision)
        return [{"question": "2+2?", "choices": ["1", "2", "3", "4"], "answer": 3}]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    rows = mmlu.hub_rows(common.MMLU_DATASET, common.MMLU_REVISION, "anatomy", "test")
    assert asked == [("cais/mmlu", "anatomy", "test", common.MMLU_REVISION)]
    assert rows == [{"question": "2+2?", "subject": "anatomy", "choices": ["1", "2", "3", "4"], "answer": 3}]
    with pytest.raises(PipelineError, match="at revision main .*set MMLU_DIR"):
        mmlu.hub_rows(common.MMLU_DATASET, "main", "anatomy", "test")


def test_a_subject_moved_to_another_category_is_rescored_under_it(tmp_path):
    """The same prompts, another category (MMLU_SUBJECTS edited): the records say the new one, not the one they
    were first made under."""
    items = [{"subject": "management", "category": "social sciences", "answer": i % 4} for i in range(3)]
    prompts, scored = [f"question {i}\nAnswer:" for i in range(3)], []

    def letter_log_probs(texts):
        scored.extend(texts)
        return [[-1.0, -2.0, -3.0, -4.0] for _ in texts]

    def run(items):
        path = tmp_path / "base.jsonl"
        return mmlu.evaluate_model(letter_log_probs, None, path, items, prompts, [1, 1, 1], {"model": "m"}, 2)

    assert [r["category"] for r in run(items)] == ["social sciences"] * 3 and len(scored) == 3
    assert len(run(items)) == 3 and len(scored) == 3  # unchanged: reused
    moved = [dict(item, category="other") for item in items]
    assert [r["category"] for r in run(moved)] == ["other"] * 3 and len(scored) == 6
