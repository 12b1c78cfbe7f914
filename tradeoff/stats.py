"""The report's statistics: Wilson intervals, the exact McNemar test with Newcombe's interval of the paired
difference, the exact power of that test, and the study's percent change. The standard deviations follow the study's
own (inconsistent) conventions, so that its Tables I and II reproduce; it reported no interval or test.
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
POWER = 0.8
ALPHA = 0.05


def wilson(correct, n):
    """Unlike Wald's interval: inside [0, 1] and honest at small n and near 0 or 1."""
    interval = scipy_stats.binomtest(correct, n).proportion_ci(CONFIDENCE_LEVEL, "wilson")
    return float(interval.low), float(interval.high)


def summarize_scores(scores, ddof):
    """Summary of 0/1 scores; with none every statistic is None, never 0: a missing run is not a failing model."""
    values = [int(score) for score in scores]
    if any(value not in (0, 1) for value in values):
        raise ValueError("scores must be 0 or 1")
    n, correct = len(values), sum(values)
    if n == 0:
        return {"n": 0, "correct": 0, "accuracy": None, "std": None, "ci_low": None, "ci_high": None}
    std = float(np.std(values, ddof=ddof)) if n > ddof else None  # one score has no sample std (0/0)
    low, high = wilson(correct, n)
    return {"n": n, "correct": correct, "accuracy": correct / n, "std": std, "ci_low": low, "ci_high": high}


def aggregate_accuracy(accuracies):
    """The study's MMLU aggregate: mean +- population std of the category accuracies present (None without any)."""
    values = [value for value in accuracies if value is not None]
    if not values:
        return {"accuracy": None, "std": None}
    return {"accuracy": float(np.mean(values)), "std": float(np.std(values, ddof=MMLU_STD_DDOF))}


def percent_change(base, new):
    """Table III's Variação (%)."""
    return None if base is None or new is None or base == 0 else (new - base) / base * 100.0


def mcnemar_exact(base_scores, model_scores):
    """Exact two-sided McNemar test: under equal accuracy c ~ Binomial(b + c, 1/2)."""
    if len(base_scores) != len(model_scores):
        raise ValueError(f"paired scores differ in length: {len(base_scores)} vs {len(model_scores)}")
    b = sum(1 for base, model in zip(base_scores, model_scores) if base and not model)
    c = sum(1 for base, model in zip(base_scores, model_scores) if model and not base)
    p_value = 1.0 if b + c == 0 else float(scipy_stats.binomtest(c, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "p_value": p_value}


def paired_difference_interval(both_right, b, c, both_wrong):
    """Newcombe's (1998, method 10) interval of (c - b) / n = model - base: unlike Wald's, inside [-1, 1] and
    covering with few discordant pairs. The marginal Wilson intervals, combined with phi (0 if a margin is empty)."""
    n = both_right + b + c + both_wrong
    if n == 0:
        return {"difference": None, "difference_ci_low": None, "difference_ci_high": None}
    p1, (l1, u1) = (both_right + b) / n, wilson(both_right + b, n)
    p2, (l2, u2) = (both_right + c) / n, wilson(both_right + c, n)
    margins = (both_right + b) * (c + both_wrong) * (both_right + c) * (b + both_wrong)
    # Newcombe's phi, with his continuity correction of a positive association: (ad - bc - n/2)+ when ad > bc.
    association = both_right * both_wrong - b * c
    if association > 0:
        association = max(association - n / 2, 0.0)
    phi = 0.0 if margins == 0 else association / math.sqrt(margins)
    difference = p2 - p1
    below = math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    above = math.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2, 0.0))
    low, high = max(difference - below, -1.0), min(difference + above, 1.0)
    return {"difference": difference, "difference_ci_low": low, "difference_ci_high": high}


def paired_comparison(base_scores, model_scores):
    """Base vs model on the same items in order: McNemar, Newcombe's interval (a direction only if it excludes 0),
    power at p_d: the observed (b + c) / n or, with no discordant pair, 2 p (1 - p) at the base accuracy p."""
    test = mcnemar_exact(base_scores, model_scores)
    n, b, c = len(base_scores), test["b"], test["c"]
    both_right = sum(1 for base, model in zip(base_scores, model_scores) if base and model)
    interval = paired_difference_interval(both_right, b, c, n - both_right - b - c)
    base_accuracy = (both_right + b) / n if n else 0
    rate, source = None, None
    if b + c:
        rate, source = (b + c) / n, "observed"
    elif 0 < base_accuracy < 1:
        rate, source = 2 * base_accuracy * (1 - base_accuracy), "assumed"
    if n == 0:
        reading = "no paired items"
    elif interval["difference_ci_low"] <= 0 <= interval["difference_ci_high"]:
        reading = "not distinguishable from no change at this sample size"
    else:
        reading = "higher than base" if interval["difference"] > 0 else "lower than base"
    detectable = None if rate is None else minimum_detectable_difference(n, rate)
    power = {"p_discordant": rate, "p_discordant_source": source, "minimum_detectable_difference": detectable}
    return test | {"n_paired": n} | interval | {"reading": reading} | power


# The power of the exact McNemar test. Design: n paired items, each discordant with probability p_d = p10 + p01
# (p10: base right, model wrong; p01: the reverse), delta = p01 - p10, so |delta| <= p_d. Of m discordant pairs,
# Binomial(m, (p_d + delta) / (2 p_d)) favour the model; power sums the test's rejection probability over
# m ~ Binomial(n, p_d) exactly, with no normal approximation.


def mcnemar_rejection_bounds(m):
    """Per m discordant pairs, the largest k with exact p-value <= ALPHA (-1: none); Binomial(m, 1/2) is symmetric:
    p(k <= m/2) = 2 P(X <= k), so the test rejects iff k <= bound or k >= m - bound."""
    # The margin absorbs rounding: 2^m / 40 is never an integer.
    threshold = ALPHA / 2 * (1 + 1e-12)
    k = scipy_stats.binom.ppf(threshold, m, 0.5).astype(int)  # smallest k with P(X <= k) >= threshold
    return np.where(scipy_stats.binom.cdf(k, m, 0.5) <= threshold, k, k - 1)


def mcnemar_power(n, p_discordant, difference):
    """Probability that the exact two-sided McNemar test at level ALPHA rejects, for n pairs of the design above."""
    difference = abs(difference)
    if not 0 < p_discordant <= 1 or difference > p_discordant + 1e-12:
        raise ValueError(f"need 0 < p_discordant <= 1 and |difference| <= p_discordant ({difference}, {p_discordant})")
    # Only m within 12 standard deviations of n p_d carry probability (the rest sums to < 1e-30).
    spread = 12 * math.sqrt(n * p_discordant * (1 - p_discordant)) + 12
    m = np.arange(max(0, math.floor(n * p_discordant - spread)), min(n, math.ceil(n * p_discordant + spread)) + 1)
    bound = mcnemar_rejection_bounds(m)
    favour = min((p_discordant + difference) / (2 * p_discordant), 1.0)
    # P(k <= bound) + P(k >= m - bound) for k ~ Binomial(m, favour); no rejection where bound = -1.
    rejected = scipy_stats.binom.cdf(bound, m, favour) + scipy_stats.binom.sf(m - bound - 1, m, favour)
    return float(np.sum(scipy_stats.binom.pmf(m, n, p_discordant) * np.where(bound >= 0, rejected, 0.0)))


@functools.lru_cache(maxsize=4096)  # pure, and a report asks the same questions more than once
def minimum_detectable_difference(n, p_discordant):
    """The smallest |delta| detected with POWER, by bisection to 1e-5; None if even |delta| = p_d is not."""
    if not p_discordant or mcnemar_power(n, p_discordant, p_discordant) < POWER:
        return None
    low, high = 0.0, p_discordant
    while high - low > 1e-5:
        middle = (low + high) / 2
        low, high = (low, middle) if mcnemar_power(n, p_discordant, middle) >= POWER else (middle, high)
    return high


@functools.lru_cache(maxsize=4096)
def sample_size_for(difference, p_discordant):
    """The smallest n with exact McNemar power >= POWER (None if |difference| > p_d). Power is not monotone in n
    (exact tests' sawtooth): bisect a doubling bracket, then step back while n - 1 still has the power."""
    difference = abs(difference)
    if difference == 0 or not p_discordant or difference > p_discordant:
        return None
    high = 1
    while mcnemar_power(high, p_discordant, difference) < POWER:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if mcnemar_power(middle, p_discordant, difference) >= POWER else (middle, high)
    while high > 1 and mcnemar_power(high - 1, p_discordant, difference) >= POWER:
        high -= 1
    return high
