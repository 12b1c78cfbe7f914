"""stats.py against values computed by hand, and the study's Tables I-III reproduced from 0/1 lists."""

import math

import pytest

from stats import MMLU_STD_DDOF, SPIDER_STD_DDOF, aggregate_accuracy, mcnemar_exact, percent_change, summarize_scores

Z = 1.959964


def wilson_by_hand(k, n, z=Z):
    p = k / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return center - half, center + half


def scores(correct, n):
    return [1] * correct + [0] * (n - correct)


def test_summarize_scores_table_i_base_row():
    summary = summarize_scores(scores(72, 150), ddof=SPIDER_STD_DDOF)
    assert summary["n"] == 150 and summary["correct"] == 72
    assert summary["accuracy"] == pytest.approx(0.48)
    # ddof=1: sqrt(n p (1-p) / (n-1)) = sqrt(150 * 0.48 * 0.52 / 149) = 0.50128...
    assert summary["std"] == pytest.approx(math.sqrt(150 * 0.48 * 0.52 / 149))
    assert round(summary["std"], 3) == 0.501  # the study's Table I
    low, high = wilson_by_hand(72, 150)
    assert summary["ci_low"] == pytest.approx(low, abs=1e-6)
    assert summary["ci_high"] == pytest.approx(high, abs=1e-6)


def test_summarize_scores_table_i_lora_rows():
    # 0.793 +- 0.406 and 0.907 +- 0.292 are 119/150 and 136/150 with ddof=1.
    for correct, accuracy, std in ((119, 0.793, 0.406), (136, 0.907, 0.292)):
        summary = summarize_scores(scores(correct, 150), ddof=SPIDER_STD_DDOF)
        assert (round(summary["accuracy"], 3), round(summary["std"], 3)) == (accuracy, std)


def test_summarize_scores_edge_cases():
    empty = summarize_scores([], ddof=1)
    assert empty["n"] == 0 and empty["accuracy"] is None and empty["std"] is None and empty["ci_low"] is None
    single = summarize_scores([1], ddof=1)
    assert single["accuracy"] == 1.0 and single["std"] is None
    all_right = summarize_scores(scores(10, 10), ddof=0)
    assert all_right["std"] == 0.0 and all_right["ci_high"] == pytest.approx(1.0) and all_right["ci_low"] < 1.0
    with pytest.raises(ValueError):
        summarize_scores([0, 2], ddof=0)


def test_table_ii_base_row_reproduces():
    categories = {"STEM": 16, "Ciências Sociais": 14, "Humanidades": 15}
    expected = {"STEM": (0.320, 0.466), "Ciências Sociais": (0.280, 0.449), "Humanidades": (0.300, 0.458)}
    summaries = {c: summarize_scores(scores(k, 50), ddof=MMLU_STD_DDOF) for c, k in categories.items()}
    for category, (accuracy, std) in expected.items():
        assert (round(summaries[category]["accuracy"], 3), round(summaries[category]["std"], 3)) == (accuracy, std)
    aggregate = aggregate_accuracy([s["accuracy"] for s in summaries.values()])
    assert (round(aggregate["accuracy"], 3), round(aggregate["std"], 3)) == (0.300, 0.016)


def test_table_ii_lora_rows_reproduce():
    # LoRA 3: 0.40, 0.40, 0.32 -> 0.373 +- 0.038; LoRA 5: 0.46, 0.40, 0.32 -> 0.393 +- 0.057.
    assert [round(v, 3) for v in aggregate_accuracy([0.40, 0.40, 0.32]).values()][:2] == [0.373, 0.038]
    assert [round(v, 3) for v in aggregate_accuracy([0.46, 0.40, 0.32]).values()][:2] == [0.393, 0.057]
    assert aggregate_accuracy([None, None]) == {"accuracy": None, "std": None, "categories": 0}


def test_mcnemar_exact_by_hand():
    # b = 1 (base right, model wrong), c = 6: p = 2 * (C(7,0) + C(7,1)) / 2^7 = 16/128 = 0.125.
    base = [1, 0, 0, 0, 0, 0, 0, 1, 0]
    model = [0, 1, 1, 1, 1, 1, 1, 1, 0]
    result = mcnemar_exact(base, model)
    assert (result["b"], result["c"], result["n_discordant"]) == (1, 6, 7)
    assert result["p_value"] == pytest.approx(2 * (math.comb(7, 0) + math.comb(7, 1)) / 2**7)
    assert result["p_value"] == pytest.approx(0.125)
    # Symmetric in b and c.
    assert mcnemar_exact(model, base)["p_value"] == pytest.approx(0.125)


def test_mcnemar_no_discordant_and_length_mismatch():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == {"b": 0, "c": 0, "n_discordant": 0, "p_value": 1.0}
    assert mcnemar_exact([], [])["p_value"] == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])


def test_percent_change_table_iii():
    assert round(percent_change(0.32, 0.46), 1) == 43.8
    assert round(percent_change(0.28, 0.40), 1) == 42.9
    assert round(percent_change(0.30, 0.32), 1) == 6.7
    assert round(percent_change(0.480, 0.907), 1) == 89.0  # Table I's delta
    assert percent_change(0, 0.5) is None and percent_change(None, 0.5) is None and percent_change(0.3, None) is None
