"""Step 4: what fine-tuning cost elsewhere: 4-shot MMLU for the base model and each adapter, then the report.

Prompts follow the original MMLU code (header, the subject's first MMLU_SHOTS dev examples with their answers, the
test question ending in "Answer:"), as plain text or through the chat template (MMLU_PROMPT_FORMAT), exactly as
lm-evaluation-harness builds them. The score is the model's log-probability of each answer (" A" after "Answer:" in
the plain format) as the next token: one forward pass per question, deterministic, never unparseable. With
MMLU_GENERATION_SCORE, a second column parses the answer of a short greedy generation, closer to what the study
probably did. Each question's outcome is checkpointed; a re-run continues. At the end the report
(outputs/<profile>/report.md, results.json/.csv, tradeoff.png) is built from whatever results exist.
"""

import checkpoints
import common
import mmlu
import modeling
import prompts
import records
import report


def main():
    items, dev = mmlu.read_questions()
    checkpoints.check_adapters_exist(common.EVAL_EPOCHS)
    modeling.seed_everything()
    tokenizer = modeling.load_tokenizer()
    prompt_format = common.MMLU_PROMPT_FORMAT
    texts = [prompts.mmlu_prompt(tokenizer, item, dev[item["subject"]], prompt_format) for item in items]
    lengths = modeling.token_lengths(tokenizer, texts)
    for epoch in (None, *common.EVAL_EPOCHS):
        key = records.model_key(epoch)
        made_with = dict(
            modeling.made_with(epoch, "hf", common.EVAL_BATCH_SIZE),
            prompt_format=prompt_format,
            generation_score=common.MMLU_GENERATION_SCORE,
            generation_tokens=common.MMLU_GENERATION_TOKENS,
        )
        model = modeling.load_model(epoch)
        key_records = mmlu.evaluate_model(
            model, tokenizer, key, items, texts, lengths, made_with, common.EVAL_BATCH_SIZE
        )
        mmlu.print_summary(key, key_records)
        modeling.free_memory()
    report.build_report()
    print(f"report: {common.PATHS.report}")


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
