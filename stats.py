"""Statistics of the report: accuracy with a Wilson interval, the exact McNemar test, the study's percent change.

The standard deviations follow the study's own (inconsistent) conventions so that its Tables I and II reproduce
exactly from per-example 0/1 scores; the intervals and tests are our additions, the study reported none.
"""

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
