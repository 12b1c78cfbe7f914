"""Step 4: what fine-tuning cost elsewhere: 4-shot MMLU for the base model and each adapter, then the report.

Prompts follow the original MMLU code and lm-evaluation-harness (header, the subject's first MMLU_SHOTS dev
examples with their answers, the test question ending in "Answer:"), sent through the chat template. The score is
the model's log-probability of each answer letter as the next token: one forward pass per question, deterministic,
never unparseable. With MMLU_GENERATION_SCORE, a second column parses the first letter of a short greedy answer,
closer to what the study probably did. Each question's outcome is checkpointed; a re-run continues. At the end the
report (outputs/<profile>/report.md, results.json/.csv, tradeoff.png) is built from whatever results exist.
"""
import re

import common

FIRST_LETTER = re.compile(r"\b([ABCD])\b")


def generated_choice(text):
    match = FIRST_LETTER.search(text)
    return common.MMLU_LETTERS.index(match.group(1)) if match else None


def mmlu_record(index, item, prompt, log_probs, generated_text):
    predicted = max(range(len(log_probs)), key=log_probs.__getitem__)
    choice = generated_choice(generated_text) if generated_text is not None else None
    return {"index": index, "prompt": common.prompt_digest(prompt), "subject": item["subject"], "category": item["category"], "answer": item["answer"],
            "letter_logprobs": log_probs, "predicted": predicted, "correct": int(predicted == item["answer"]),
            "generated_text": generated_text, "generated_choice": choice,
            "generated_correct": None if generated_text is None else int(choice == item["answer"])}


def evaluate_model_on_mmlu(model, tokenizer, key, items, prompts, made_with):
    """Score one model on every item, resuming from its per-question file; returns the records in item order."""
    import modeling
    from tqdm.auto import tqdm

    path = common.MMLU_RESULTS_DIR / f"{key}.jsonl"
    records = common.resume_records(path, made_with, prompts)
    done = {record["index"] for record in records}
    letter_ids = modeling.letter_token_ids(tokenizer, common.MMLU_LETTERS)

    def run_batch(chunk):
        texts = [prompts[i] for i in chunk]
        log_probs = modeling.letter_log_probs_batch(model, tokenizer, texts, letter_ids)
        generated = (modeling.generate_batch(model, tokenizer, texts, common.MMLU_GENERATION_TOKENS)
                     if common.MMLU_GENERATION_SCORE else [None] * len(chunk))
        return list(zip(log_probs, generated))

    plan = modeling.batch_plan(tokenizer, prompts, common.EVAL_BATCH_SIZE, done)
    with common.open_checkpoint(path, records) as handle, \
            tqdm(total=len(items), initial=len(done), desc=f"mmlu {key}", unit="question") as progress:
        for chunk, outputs in modeling.run_batches(plan, common.EVAL_BATCH_SIZE, run_batch):
            for index, (log_probs, text) in zip(chunk, outputs):
                if index not in done:
                    common.append_record(handle, mmlu_record(index, items[index], prompts[index], log_probs, text))
            progress.update(len(chunk))
    return sorted(common.read_jsonl_records(path), key=lambda record: record["index"])


def print_summary(key, records):
    import stats

    overall = stats.summarize_scores([r["correct"] for r in records], ddof=stats.MMLU_STD_DDOF)
    parts = []
    for category in dict.fromkeys(common.MMLU_SUBJECTS.values()):
        scores = [r["correct"] for r in records if r["category"] == category]
        parts.append(f"{category} {stats.summarize_scores(scores, ddof=stats.MMLU_STD_DDOF)['accuracy']:.3f}")
    print(f"{key}: MMLU accuracy {overall['accuracy']:.3f} (n={overall['n']}; {', '.join(parts)})")


def main():
    import modeling
    import report

    items = common.read_json(common.MMLU_TEST_FILE, produced_by="0_preparando_dados.py")
    dev = common.read_json(common.MMLU_DEV_FILE, produced_by="0_preparando_dados.py")
    common.check_prepared_mmlu()
    modeling.check_adapters_exist(common.EVAL_EPOCHS)
    common.seed_everything()
    tokenizer = modeling.load_tokenizer()
    prompts = [common.render_prompt(tokenizer, common.mmlu_messages(item, dev[item["subject"]])) for item in items]
    for epoch in (None, *common.EVAL_EPOCHS):
        key = modeling.model_key(epoch)
        made_with = dict(modeling.made_with(epoch), generation_score=common.MMLU_GENERATION_SCORE,
                         generation_tokens=common.MMLU_GENERATION_TOKENS)
        records = evaluate_model_on_mmlu(modeling.load_model(epoch), tokenizer, key, items, prompts, made_with)
        print_summary(key, records)
        modeling.free_memory()
    report.build_report()
    print(f"report: {common.REPORT_FILE}")


if __name__ == "__main__":
    common.run_main(main)
