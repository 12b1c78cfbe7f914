"""mmlu_subjects: 57 subjects in 4 categories with the known sizes (original MMLU grouping and lm-eval's)."""

from mmlu_subjects import (
    CATEGORIES,
    LM_EVAL_CATEGORIES,
    MMLU_CATEGORIES,
    SUBCATEGORIES,
    TEST_QUESTIONS,
    questions_in,
    subjects_in,
)


def test_57_subjects_in_4_categories():
    assert len(MMLU_CATEGORIES) == 57
    assert set(MMLU_CATEGORIES.values()) == set(CATEGORIES) == {"STEM", "humanities", "social sciences", "other"}
    assert set(TEST_QUESTIONS) == set(SUBCATEGORIES) == set(MMLU_CATEGORIES)


def test_original_category_sizes():
    sizes = {category: len(subjects_in(category)) for category in CATEGORIES}
    assert sizes == {"STEM": 18, "humanities": 13, "social sciences": 12, "other": 14}


def test_lm_eval_moves_only_anatomy_to_stem():
    differing = {s for s in MMLU_CATEGORIES if MMLU_CATEGORIES[s] != LM_EVAL_CATEGORIES[s]}
    assert differing == {"anatomy"}
    sizes = {category: len(subjects_in(category, LM_EVAL_CATEGORIES)) for category in CATEGORIES}
    assert sizes == {"STEM": 19, "humanities": 13, "social sciences": 12, "other": 13}


def test_test_questions_total_and_per_category():
    assert sum(TEST_QUESTIONS.values()) == 14_042
    # Per-category question counts under each grouping: they differ by anatomy's 135 questions only.
    lm_eval = {category: questions_in(category, LM_EVAL_CATEGORIES) for category in CATEGORIES}
    assert lm_eval == {"STEM": 3153, "humanities": 4705, "social sciences": 3077, "other": 3107}
    original = {category: questions_in(category) for category in CATEGORIES}
    assert original == {"STEM": 3018, "humanities": 4705, "social sciences": 3077, "other": 3242}
