"""The library of the study: what the five numbered scripts call. No module here reads `common`; each receives its
settings as arguments.

    files        handed-off files, the run lock, the resumable per-example loop, one-line exits
    spider       the Spider release, its prompts, one record per question, one model's evaluation
    sql_scoring  SQL extraction, the two execution-match rules, the DeepEval metric
    sql_sandbox  the killable worker that runs untrusted SQL read-only within a time and size budget
    hardness     the official Spider hardness levels
    mmlu         MMLU subjects, files, prompts, letter scoring
    model        loading the 4-bit base (and an adapter), generation, next-token log-probabilities
    training     the QLoRA recipe, its checkpoints and manifest
    stats        intervals, paired tests, power
    report       the long results table, and the markdown, CSV, JSON and plots drawn from it
    vllm_engine  the optional vLLM generator
"""


class PipelineError(Exception):
    """A problem the user can fix: printed as one line, exit code 2, nothing written."""
