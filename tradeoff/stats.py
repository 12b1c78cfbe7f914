"""Statistics of the report: accuracy with a Wilson interval, the exact McNemar test, the study's percent change.

The standard deviations follow the study's own (inconsistent) conventions so that its Tables I and II reproduce
exactly from per-example 0/1 scores; the intervals and tests are our additions, the study reported none.
"""

import functools
import math

import numpy as np
from scipy import stats as scipy_stats

# Table I: acc 0.480, std 0.501 at n = 150 is the sample std (ddof = 1) of the 0/1 scores (ddof = 0 gives 0.500).
SPIDER_STD_DDOF = 1
# Table II: 0.320 +- 0.466 at n = 50 is the population std (ddof = 0) of the 0/1 scores (ddof = 1 gives 0.471),
# and the aggregate 0.300 +- 0.016 is the population std of the three category accuracies (0.32, 0.28, 0.30).
MMLU_STD_DDOF = 0
CONFIDENCE_LEVEL = 0.95


def summarize_scores(scores, ddof):
    """n, correct, accuracy, std (with the given ddof) and the 95% Wilson interval of a list of 0/1 scores.

    Wilson rather than the normal approximation: it stays inside [0, 1] and is honest at n = 50 and near 0 or 1.
    With no scores every statistic is None, never 0, so a missing run cannot read as a failing model.
    """
    values = [int(score) for score in scores]
    if any(value not in (0, 1) for value in values):
        raise ValueError("scores must be 0 or 1")
    n, correct = len(values), sum(values)
    if n == 0:
        return {"n": 0, "correct": 0, "accuracy": None, "std": None, "ci_low": None, "ci_high": None}
    interval = scipy_stats.binomtest(correct, n).proportion_ci(confidence_level=CONFIDENCE_LEVEL, method="wilson")
    # The sample std of a single score is undefined (0/0); say so instead of printing nan.
    std = float(np.std(values, ddof=ddof)) if n > ddof else None
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "std": std,
        "ci_low": float(interval.low),
        "ci_high": float(interval.high),
    }


def aggregate_accuracy(accuracies):
    """The study's MMLU aggregate: mean of the category accuracies +- their population std (MMLU_STD_DDOF).

    Categories without results are left out; with none at all both values are None.
    """
    values = [value for value in accuracies if value is not None]
    if not values:
        return {"accuracy": None, "std": None, "categories": 0}
    return {
        "accuracy": float(np.mean(values)),
        "std": float(np.std(values, ddof=MMLU_STD_DDOF)),
        "categories": len(values),
    }


def mcnemar_exact(base_scores, model_scores):
    """Exact two-sided McNemar test on paired 0/1 scores of the same items, in the same order.

    Only the discordant pairs carry information: under H0 (same accuracy) each is equally likely to favour
    either model, so c ~ Binomial(b + c, 1/2). Exact because b + c is small at these sample sizes.
    """
    if len(base_scores) != len(model_scores):
        raise ValueError(f"paired scores differ in length: {len(base_scores)} vs {len(model_scores)}")
    b = sum(1 for base, model in zip(base_scores, model_scores) if base and not model)
    c = sum(1 for base, model in zip(base_scores, model_scores) if model and not base)
    p_value = 1.0 if b + c == 0 else float(scipy_stats.binomtest(c, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "n_discordant": b + c, "p_value": min(p_value, 1.0)}


def percent_change(base, new):
    """Table III's Variação (%): (new - base) / base * 100; None where base is 0 or either value is missing."""
    if base is None or new is None or base == 0 or (isinstance(base, float) and math.isnan(base)):
        return None
    return (new - base) / base * 100.0


def points_change(base, new):
    """new - base as a fraction (shown in percentage points); defined at a base of 0, unlike percent_change."""
    if base is None or new is None or math.isnan(base) or math.isnan(new):
        return None
    return new - base


# ---------------------------------------------------------------------------------------------------------------
# The paired difference and the power of the exact McNemar test
#
# Design: n paired items (the same questions answered by the base and the fine-tuned model). Each item is
# independently discordant with probability p_d = p10 + p01, where p10 = P(base right, model wrong) and
# p01 = P(base wrong, model right). The accuracy difference (model - base) is delta = p01 - p10, so |delta| <= p_d.
# Given m discordant pairs, the number favouring the model is Binomial(m, (p_d + delta) / (2 p_d)); the exact
# McNemar test rejects when the two-sided binomial(m, 1/2) p-value is <= alpha. Power sums that conditional
# rejection probability over m ~ Binomial(n, p_d): exact binomial sums, no normal approximation.

POWER = 0.8
ALPHA = 0.05


_BOUNDS = {}  # alpha -> mcnemar_rejection_bounds for m = 0, 1, ...


def paired_difference_interval(both_right, b, c, both_wrong, confidence=CONFIDENCE_LEVEL):
    """Newcombe's (1998, method 10) hybrid score interval for the paired difference (c - b) / n = model - base.

    The 2x2 table of paired 0/1 scores: both_right, b (base right, model wrong), c (model right, base wrong),
    both_wrong. Chosen over the Wald interval because it stays inside [-1, 1] and keeps its coverage at small n and
    with few discordant pairs (Wald collapses to a zero-width interval when b = c = 0). It combines the two marginal
    Wilson intervals with the phi correlation of the table (phi = 0 when a margin is empty). Checked against the
    worked example of Fagerland, Lydersen and Laake (2017), Statistical Analysis of Contingency Tables, ch. 8.
    """
    n = both_right + b + c + both_wrong
    if n == 0:
        return {"difference": None, "ci_low": None, "ci_high": None}
    base = summarize_scores([1] * (both_right + b) + [0] * (c + both_wrong), ddof=0)
    model = summarize_scores([1] * (both_right + c) + [0] * (b + both_wrong), ddof=0)
    p1, l1, u1 = base["accuracy"], base["ci_low"], base["ci_high"]
    p2, l2, u2 = model["accuracy"], model["ci_low"], model["ci_high"]
    margins = (both_right + b) * (c + both_wrong) * (both_right + c) * (b + both_wrong)
    # Newcombe's phi, with his continuity correction of a positive association: (ad - bc - n/2)+ when ad > bc.
    association = both_right * both_wrong - b * c
    if association > 0:
        association = max(association - n / 2, 0.0)
    phi = 0.0 if margins == 0 else association / math.sqrt(margins)
    difference = p2 - p1
    below = math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    above = math.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2, 0.0))
    return {"difference": difference, "ci_low": max(difference - below, -1.0), "ci_high": min(difference + above, 1.0)}


def mcnemar_rejection_bounds(m, alpha=ALPHA):
    """For m = 0..max discordant pairs, the largest k with two-sided exact p-value(k of m) <= alpha (-1: none).

    The binomial(m, 1/2) is symmetric, so the two-sided p-value of k is 2 * min(P(X <= k), P(X >= k)) (what
    scipy's binomtest, and so mcnemar_exact, computes) and the test rejects iff k <= bound or k >= m - bound.
    Depends on m and alpha only, so it is computed once per alpha up to the largest m asked so far (at least
    doubling), not again for each of the many power calls of a sample-size search.
    """
    m = np.asarray(m)
    cached = _BOUNDS.get(alpha, np.empty(0, dtype=int))
    if len(cached) <= m.max(initial=0):
        cached = _BOUNDS[alpha] = critical_counts(np.arange(max(int(m.max()) + 1, 2 * len(cached))), alpha)
    return cached[m]


def critical_counts(m, alpha):
    """The bounds of mcnemar_rejection_bounds for an array m: start from the normal approximation, then step each
    entry to the exact largest k with P(X <= k) <= alpha / 2 (a handful of vectorised steps at most)."""
    threshold = alpha / 2 * (1 + 1e-12)  # no ties in practice (2^m / 40 is never an integer), the margin is rounding
    z = scipy_stats.norm.ppf(alpha / 2)
    k = np.floor(m / 2 + z * np.sqrt(m) / 2).astype(int)
    k = np.clip(k, -1, m)
    while np.any(too_high := (k >= 0) & (scipy_stats.binom.cdf(k, m, 0.5) > threshold)):
        k = np.where(too_high, k - 1, k)
    while np.any(too_low := (k + 1 <= m) & (scipy_stats.binom.cdf(k + 1, m, 0.5) <= threshold)):
        k = np.where(too_low, k + 1, k)
    return k


def mcnemar_power(n, p_discordant, difference, alpha=ALPHA):
    """Probability that the exact two-sided McNemar test at level alpha rejects, for n pairs of the design above.

    difference: |p01 - p10|, the true accuracy difference; must not exceed p_discordant.
    """
    difference = abs(difference)
    if not 0 < p_discordant <= 1 or difference > p_discordant + 1e-12:
        raise ValueError(f"need 0 < p_discordant <= 1 and |difference| <= p_discordant ({difference}, {p_discordant})")
    if n <= 0:
        return 0.0
    # Only m within 12 standard deviations of n p_d carry probability (the rest sums to < 1e-30): summing there
    # keeps a power call cheap at the tens of thousands of pairs a sample-size search visits.
    spread = 12 * math.sqrt(n * p_discordant * (1 - p_discordant)) + 12
    m = np.arange(max(0, math.floor(n * p_discordant - spread)), min(n, math.ceil(n * p_discordant + spread)) + 1)
    bound = mcnemar_rejection_bounds(m, alpha)
    favour = min((p_discordant + difference) / (2 * p_discordant), 1.0)
    # P(k <= bound) + P(k >= m - bound) for k ~ Binomial(m, favour); bound = -1 makes both terms 0.
    rejected = scipy_stats.binom.cdf(bound, m, favour) + scipy_stats.binom.sf(m - bound - 1, m, favour)
    rejected = np.where(bound >= 0, rejected, 0.0)
    return float(np.sum(scipy_stats.binom.pmf(m, n, p_discordant) * rejected))


@functools.lru_cache(maxsize=4096)  # pure, and a report asks the same questions more than once
def minimum_detectable_difference(n, p_discordant, power=POWER, alpha=ALPHA, tolerance=1e-5):
    """The smallest |p01 - p10| the design detects with at least `power`; None if even |delta| = p_d does not.

    Bisection on the difference: at fixed n and p_d the power grows with |delta| (the discordant pairs lean
    further to one side).
    """
    if n <= 0 or not p_discordant or mcnemar_power(n, p_discordant, p_discordant, alpha) < power:
        return None
    low, high = 0.0, p_discordant
    while high - low > tolerance:
        middle = (low + high) / 2
        low, high = (low, middle) if mcnemar_power(n, p_discordant, middle, alpha) >= power else (middle, high)
    return high


@functools.lru_cache(maxsize=4096)  # pure, and a report asks the same questions more than once
def sample_size_for(difference, p_discordant, power=POWER, alpha=ALPHA):
    """The smallest n whose exact McNemar power is >= `power`; None where |difference| > p_d (impossible).

    Exact power is not strictly monotone in n (the discreteness sawtooth of exact tests; much smoothed here because
    the number of discordant pairs is itself random), so: bisection between a doubling bracket, then a step back
    while the n below still has the power. The result has the power; tests check it against a full scan.
    """
    difference = abs(difference)
    if difference == 0 or not p_discordant or difference > p_discordant:
        return None
    high = 1
    while mcnemar_power(high, p_discordant, difference, alpha) < power:
        high *= 2
    low = high // 2  # power(low) < power, or low = 0
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if mcnemar_power(middle, p_discordant, difference, alpha) >= power else (middle, high)
    while high > 1 and mcnemar_power(high - 1, p_discordant, difference, alpha) >= power:
        high -= 1
    return high


def normal_approximation_sample_size(difference, p_discordant, power=POWER, alpha=ALPHA):
    """Connor's (1987) normal-approximation n for McNemar: ((z_{a/2} sqrt(p_d) + z_b sqrt(p_d - d^2)) / d)^2."""
    z_alpha, z_beta = scipy_stats.norm.ppf(1 - alpha / 2), scipy_stats.norm.ppf(power)
    return ((z_alpha * math.sqrt(p_discordant) + z_beta * math.sqrt(p_discordant - difference**2)) / difference) ** 2


def paired_comparison(base_scores, model_scores, base_accuracy_fallback=True):
    """Everything the report says about one base-vs-fine-tuned comparison on the same items, in the same order.

    n, the 2x2 table, the exact McNemar p-value, the difference (model - base) with Newcombe's interval and
    whether it is distinguishable from zero, the discordance rate used for power and where it came from, and the
    minimum detectable difference at POWER and ALPHA. The rate is the observed (b + c) / n; with no discordant pair
    it is assumed to be 2 p (1 - p) at the base accuracy p (independent errors, an upper bound when the two models
    err on the same questions), and with p in {0, 1} there is no rate and no power figure.
    """
    test = mcnemar_exact(base_scores, model_scores)
    n, b, c = len(base_scores), test["b"], test["c"]
    both_right = sum(1 for base, model in zip(base_scores, model_scores) if base and model)
    interval = paired_difference_interval(both_right, b, c, n - both_right - b - c)
    rate, source = discordance_rate(n, b, c, both_right + b, base_accuracy_fallback)
    distinguishable = None if interval["ci_low"] is None else not interval["ci_low"] <= 0 <= interval["ci_high"]
    return {
        **test,
        "n_paired": n,
        **interval,
        "distinguishable": distinguishable,
        "p_discordant": rate,
        "p_discordant_source": source,
        "minimum_detectable_difference": None if rate is None else minimum_detectable_difference(n, rate),
    }


def discordance_rate(n, b, c, base_correct, base_accuracy_fallback=True):
    """(rate, "observed" | "assumed" | None): see paired_comparison."""
    if n == 0:
        return None, None
    if b + c:
        return (b + c) / n, "observed"
    p = base_correct / n
    if base_accuracy_fallback and 0 < p < 1:
        return 2 * p * (1 - p), "assumed"
    return None, None
