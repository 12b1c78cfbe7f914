"""Step 4: what fine-tuning cost elsewhere: 4-shot MMLU for the base model and each adapter, then the report.

Each question is scored by the log-probability of each answer letter as the next token, its prompt built as
lm-evaluation-harness builds it (plain or chat: MMLU_PROMPT_FORMAT; README "The MMLU baseline"); MMLU_GENERATION_SCORE
adds the answer parsed from a short greedy generation. Each outcome is saved as it is produced; a re-run continues.
The report (outputs/<profile>/report.md, results.json/.csv, tradeoff.png) is then built from whatever results exist.

    python 4_analise_mmlu.py                 # evaluate what is missing, then the report
    python 4_analise_mmlu.py --report-only   # rebuild the report from the results on disk
"""

import argparse
import functools

import common
from tradeoff import PipelineError, files, mmlu, report

PATHS = common.PATHS


def read_questions():
    """The prepared test questions and each subject's dev examples, checked against this run's MMLU settings."""
    recorded = files.read_json(PATHS.prepared_manifest, made_by=files.SCRIPTS[0]).get("settings", {})
    for name, value in common.mmlu_settings().items():
        if recorded.get(name) != value:
            raise PipelineError(
                f"the prepared MMLU data in {PATHS.prepared} was made with {name}={recorded.get(name)!r} "
                f"(now {value!r}); run {files.SCRIPTS[0]} again"
            )
    return [files.read_json(path, made_by=files.SCRIPTS[0]) for path in (PATHS.mmlu_test, PATHS.mmlu_dev)]


def evaluate_models():
    from tradeoff import model, training  # torch and the model: not needed to rebuild the report

    config, prompt_format = common.model_config(), common.MMLU_PROMPT_FORMAT
    items, dev = read_questions()
    adapters = {None: None} | {epoch: training.adapter_path(PATHS, epoch) for epoch in common.EVAL_EPOCHS}
    model.seed_everything(common.SEED)
    tokenizer = model.load_tokenizer(config)
    prompts = [mmlu.prompt(tokenizer, item, dev[item["subject"]], common.MMLU_SHOTS, prompt_format) for item in items]
    lengths = model.token_lengths(tokenizer, prompts)
    letter_ids = model.letter_token_ids(tokenizer, mmlu.answer_texts(prompt_format))
    generation_tokens = common.MMLU_GENERATION_TOKENS if common.MMLU_GENERATION_SCORE else 0
    shaped_by = ("SEED", "MMLU_SHOTS", "MMLU_PROMPT_FORMAT", *("MMLU_GENERATION_TOKENS",) * bool(generation_tokens))
    settings = {"prompt_format": prompt_format, "inputs": common.result_inputs("mmlu", *shaped_by)}
    for epoch, adapter in adapters.items():
        key = files.model_key(epoch)
        made_with = model.made_with(config, adapter, "hf", common.EVAL_BATCH_SIZE, generation_tokens) | settings
        llm = functools.cache(functools.partial(model.load_model, config, adapter))  # a finished run loads none

        def score(texts, llm=llm):
            return model.letter_log_probs_batch(llm(), tokenizer, texts, letter_ids)

        def generate(texts, llm=llm):
            return model.generate_batch(llm(), tokenizer, texts, generation_tokens)

        path = PATHS.results("mmlu", key)
        records = mmlu.evaluate_model(
            score, generation_tokens and generate, path, items, prompts, lengths, made_with, common.EVAL_BATCH_SIZE
        )
        mmlu.print_summary(key, records, dict.fromkeys(common.MMLU_SUBJECTS.values()))
        del llm, score, generate  # the next model loads into the memory this one held
        model.free_memory()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from the results on disk")
    if not parser.parse_args(argv).report_only:
        evaluate_models()
    results = report.build_report(PATHS, report.ReportSettings.of(common))
    print(f"report: {PATHS.report}")
    if results["stale"]:
        print(f"not reported, made from other inputs than those of now (see the report): {', '.join(results['stale'])}")


if __name__ == "__main__":
    files.run_main(main, PATHS.outputs)
