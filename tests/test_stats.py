"""stats.py against values computed by hand, and the study's Tables I-III reproduced from 0/1 lists."""

import math

import numpy as np
import pytest
from scipy.stats import binom, norm

from tradeoff.stats import (
    MMLU_STD_DDOF,
    SPIDER_STD_DDOF,
    aggregate_accuracy,
    mcnemar_exact,
    mcnemar_power,
    mcnemar_rejection_bounds,
    minimum_detectable_difference,
    paired_comparison,
    paired_difference_interval,
    percent_change,
    sample_size_for,
    summarize_scores,
)

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
    assert [round(v, 3) for v in aggregate_accuracy([0.40, 0.40, 0.32]).values()] == [0.373, 0.038]
    assert [round(v, 3) for v in aggregate_accuracy([0.46, 0.40, None, 0.32]).values()] == [0.393, 0.057]
    assert aggregate_accuracy([None, None]) == {"accuracy": None, "std": None}


def test_mcnemar_exact_by_hand():
    # b = 1 (base right, model wrong), c = 6: p = 2 * (C(7,0) + C(7,1)) / 2^7 = 16/128 = 0.125.
    base = [1, 0, 0, 0, 0, 0, 0, 1, 0]
    model = [0, 1, 1, 1, 1, 1, 1, 1, 0]
    result = mcnemar_exact(base, model)
    assert (result["b"], result["c"]) == (1, 6)
    assert result["p_value"] == pytest.approx(2 * (math.comb(7, 0) + math.comb(7, 1)) / 2**7)
    assert result["p_value"] == pytest.approx(0.125)
    # Symmetric in b and c.
    assert mcnemar_exact(model, base)["p_value"] == pytest.approx(0.125)


def test_mcnemar_no_discordant_and_length_mismatch():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == {"b": 0, "c": 0, "p_value": 1.0}
    assert mcnemar_exact([], [])["p_value"] == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])


def test_percent_change_table_iii():
    assert round(percent_change(0.32, 0.46), 1) == 43.8
    assert round(percent_change(0.28, 0.40), 1) == 42.9
    assert round(percent_change(0.30, 0.32), 1) == 6.7
    assert round(percent_change(0.480, 0.907), 1) == 89.0  # Table I's delta
    assert percent_change(0, 0.5) is None and percent_change(None, 0.5) is None and percent_change(0.3, None) is None


def exact_p_by_hand(k, m):
    """Two-sided exact binomial(m, 1/2) p-value by explicit sums: 2 * the smaller tail, at most 1."""
    if m == 0:
        return 1.0
    lower = sum(math.comb(m, j) for j in range(k + 1)) / 2**m
    upper = sum(math.comb(m, j) for j in range(k, m + 1)) / 2**m
    return min(1.0, 2 * min(lower, upper))


def power_by_hand(n, p_discordant, difference, alpha=0.05):
    """The design's exact power by explicit double summation over m discordant pairs and k favouring the model."""
    favour = (p_discordant + difference) / (2 * p_discordant)
    total = 0.0
    for m in range(n + 1):
        p_m = math.comb(n, m) * p_discordant**m * (1 - p_discordant) ** (n - m)
        for k in range(m + 1):
            if exact_p_by_hand(k, m) <= alpha:
                total += p_m * math.comb(m, k) * favour**k * (1 - favour) ** (m - k)
    return total


def test_rejection_region_by_hand():
    # m = 6: p(0 of 6) = 2/64 = 0.031 rejects, p(1 of 6) = 14/64 = 0.22 does not; m <= 5 never rejects
    # (p(0 of 5) = 2/32 = 0.0625). So at n = 10, power = sum over m >= 6 only.
    assert exact_p_by_hand(0, 6) == pytest.approx(2 / 64) and exact_p_by_hand(1, 6) == pytest.approx(14 / 64)
    assert exact_p_by_hand(0, 5) == pytest.approx(0.0625)
    # The same p-values as mcnemar_exact (scipy's binomtest) gives for b = m - k, c = k.
    for m in range(0, 12):
        for k in range(m + 1):
            got = mcnemar_exact([1] * (m - k) + [0] * k, [0] * (m - k) + [1] * k)["p_value"]
            assert got == pytest.approx(exact_p_by_hand(k, m))


def test_rejection_bounds_equal_brute_force():
    for m in range(0, 80):
        rejecting = [k for k in range(m + 1) if exact_p_by_hand(k, m) <= 0.05 and k <= m / 2]
        assert mcnemar_rejection_bounds(np.array([m]))[0] == (max(rejecting) if rejecting else -1)


def test_mcnemar_power_n10_by_explicit_summation():
    for p_discordant, difference in ((0.5, 0.3), (0.8, 0.6), (1.0, 1.0), (0.4, 0.0)):
        assert mcnemar_power(10, p_discordant, difference) == pytest.approx(
            power_by_hand(10, p_discordant, difference), abs=1e-12
        )
    # One term by hand: p_d = 1, delta = 1 means every pair is discordant and favours the model: m = 10, k = 10,
    # p = 2/1024 rejects, so the power is 1.
    assert mcnemar_power(10, 1.0, 1.0) == pytest.approx(1.0)
    # No difference: the power is the size, at most alpha (exact tests are conservative).
    assert mcnemar_power(10, 0.4, 0.0) <= 0.05
    assert mcnemar_power(200, 0.3, 0.0) <= 0.05
    with pytest.raises(ValueError):
        mcnemar_power(10, 0.2, 0.3)  # a difference larger than the discordance rate is impossible


def test_minimum_detectable_difference_is_where_power_reaches_80_percent():
    for n, p_discordant in ((150, 0.2), (1034, 0.15), (60, 0.3)):
        delta = minimum_detectable_difference(n, p_discordant)
        assert mcnemar_power(n, p_discordant, delta) >= 0.8
        assert mcnemar_power(n, p_discordant, delta - 1e-3) < 0.8
    # At n = 10 with p_d = 0.3 even delta = p_d (every discordant pair one way) rarely reaches 6 discordant pairs.
    assert minimum_detectable_difference(10, 0.3) is None
    assert minimum_detectable_difference(0, 0.3) is None and minimum_detectable_difference(100, None) is None


def power_by_brute_force(n, p_discordant, difference, alpha=0.05):
    """The design's exact power written independently of stats.py: for every m discordant pairs, the rejecting k by
    the two-sided binomial(m, 1/2) p-value, each term a scipy.stats.binom pmf."""
    favour = (p_discordant + difference) / (2 * p_discordant)
    total = 0.0
    for m in range(n + 1):
        k = np.arange(m + 1)
        p_values = np.minimum(1.0, 2 * np.minimum(binom.cdf(k, m, 0.5), binom.sf(k - 1, m, 0.5)))
        total += binom.pmf(m, n, p_discordant) * binom.pmf(k[p_values <= alpha], m, favour).sum()
    return total


def test_minimum_detectable_difference_literal_at_the_studys_size():
    # n = 150 paired questions (the study's Spider sample), 20% of them discordant: the exact McNemar test reaches
    # 80% power at |delta| = 0.10583 (10.6 points), found by bisection on power_by_brute_force (0.1058318...).
    assert power_by_brute_force(150, 0.2, 0.10582) < 0.8 <= power_by_brute_force(150, 0.2, 0.10585)
    assert minimum_detectable_difference(150, 0.2) == pytest.approx(0.10583, abs=2e-5)


def normal_approximation_sample_size(difference, p_discordant, power=0.8, alpha=0.05):
    """Connor's (1987) normal-approximation n for McNemar: ((z_{a/2} sqrt(p_d) + z_b sqrt(p_d - d^2)) / d)^2."""
    z_alpha, z_beta = norm.ppf(1 - alpha / 2), norm.ppf(power)
    return ((z_alpha * math.sqrt(p_discordant) + z_beta * math.sqrt(p_discordant - difference**2)) / difference) ** 2


def test_sample_size_exact_scan_and_normal_approximation():
    # Small case: the smallest n found equals a full scan from n = 1.
    n = sample_size_for(0.3, 0.5)
    scan = next(m for m in range(1, 500) if mcnemar_power(m, 0.5, 0.3) >= 0.8)
    assert n == scan
    # Large n: within 5% of Connor's normal approximation ((z_{a/2} sqrt(p_d) + z_b sqrt(p_d - d^2)) / d)^2,
    # itself checked by hand for p_d = 0.2, d = 0.05: ((1.95996 * 0.44721 + 0.84162 * 0.44441) / 0.05)^2 = 625.5.
    assert normal_approximation_sample_size(0.05, 0.2) == pytest.approx(
        ((1.959964 * math.sqrt(0.2) + 0.841621 * math.sqrt(0.2 - 0.0025)) / 0.05) ** 2, rel=1e-5
    )
    assert normal_approximation_sample_size(0.05, 0.2) == pytest.approx(625.5, abs=0.1)
    # The exact test is conservative, so its n is a little above the approximation's, less so as n grows.
    ratios = []
    for difference, p_discordant in ((0.1, 0.3), (0.05, 0.2), (0.02, 0.15), (0.01, 0.1)):
        exact = sample_size_for(difference, p_discordant)
        approximate = normal_approximation_sample_size(difference, p_discordant)
        assert approximate <= exact <= 1.08 * approximate
        ratios.append(exact / approximate)
        assert mcnemar_power(exact, p_discordant, difference) >= 0.8
        assert mcnemar_power(exact - 1, p_discordant, difference) < 0.8
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] < 1.03
    assert sample_size_for(0.3, 0.2) is None and sample_size_for(0.0, 0.2) is None


def newcombe_by_hand(both_right, b, c, both_wrong):
    """Newcombe's method 10 written out from the paper: Wilson margins, corrected phi, square and add."""
    n = both_right + b + c + both_wrong
    p1, p2 = (both_right + b) / n, (both_right + c) / n
    l1, u1 = wilson_by_hand(both_right + b, n)
    l2, u2 = wilson_by_hand(both_right + c, n)
    ad_bc = both_right * both_wrong - b * c
    ad_bc = max(ad_bc - n / 2, 0) if ad_bc > 0 else ad_bc
    phi = ad_bc / math.sqrt((both_right + b) * (c + both_wrong) * (both_right + c) * (b + both_wrong))
    d = p2 - p1
    return (
        d - math.sqrt((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2),
        d + math.sqrt((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2),
    )


def test_paired_difference_interval_newcombe():
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012): table [[59, 6], [16, 80]], base - model
    # = -0.0621 (95% CI -0.1186 to -0.0046); ours is model - base, so the signs flip.
    interval = paired_difference_interval(59, 6, 16, 80)
    assert interval["difference"] == pytest.approx(10 / 161)
    assert (round(interval["difference_ci_low"], 4), round(interval["difference_ci_high"], 4)) == (0.0046, 0.1186)
    for table in ((59, 6, 16, 80), (1, 1, 7, 12), (36, 12, 2, 0), (20, 3, 4, 23)):
        low, high = newcombe_by_hand(*table)
        got = paired_difference_interval(*table)
        assert got["difference_ci_low"] == pytest.approx(low, abs=1e-6)
        assert got["difference_ci_high"] == pytest.approx(high, abs=1e-6)
    # No discordant pair: the point is 0 but the interval is not zero-width (Wald's would be).
    none = paired_difference_interval(10, 0, 0, 10)
    assert none["difference"] == 0 and none["difference_ci_low"] < 0 < none["difference_ci_high"]
    assert paired_difference_interval(0, 0, 0, 0)["difference"] is None


def test_paired_comparison_rates_and_readings():
    base = [1, 0, 0, 0, 0, 0, 0, 1, 0] * 10
    model = [0, 1, 1, 1, 1, 1, 1, 1, 0] * 10
    result = paired_comparison(base, model)
    assert (result["n_paired"], result["b"], result["c"]) == (90, 10, 60)
    assert result["p_discordant"] == pytest.approx(70 / 90) and result["p_discordant_source"] == "observed"
    assert result["difference"] == pytest.approx(50 / 90) and result["reading"] == "higher than base"
    assert result["difference_ci_low"] > 0 and paired_comparison(model, base)["reading"] == "lower than base"
    assert result["minimum_detectable_difference"] == pytest.approx(
        minimum_detectable_difference(90, 70 / 90), abs=1e-9
    )
    # Identical answers: no discordant pair, rate assumed from the base accuracy p = 0.5: 2 p (1 - p) = 0.5.
    same = paired_comparison([1, 0] * 20, [1, 0] * 20)
    assert same["p_discordant"] == pytest.approx(0.5) and same["p_discordant_source"] == "assumed"
    assert same["reading"] == "not distinguishable from no change at this sample size"
    assert same["difference_ci_low"] < 0 < same["difference_ci_high"]
    # All wrong for both: no rate to assume, no power figure.
    zero = paired_comparison([0] * 20, [0] * 20)
    assert zero["p_discordant"] is None and zero["minimum_detectable_difference"] is None
    assert paired_comparison([], [])["reading"] == "no paired items"
