"""Step 2: the base model on Spider, before any fine-tuning.

Two baselines on the first EVALUATION_ENTRIES_SIZE dev questions:
  base_3shot  the study's baseline: BASELINE_SHOTS examples drawn with the seed from the training split (never from
              the evaluated questions), shown as earlier turns of the conversation;
  base_0shot  exactly the prompt the fine-tuned models get, so that base vs fine-tuned is like for like.
Each example's outcome is saved as it is produced; a re-run continues where the last one stopped.
"""

import random

import common
from tradeoff import PipelineError, files, model, spider, sql_scoring

PATHS = common.PATHS


def baseline_shots(evaluated):
    """BASELINE_SHOTS training examples drawn with the seed, none of them an evaluated question."""
    train = files.read_json(PATHS.spider_train, made_by=files.SCRIPTS[0])
    evaluated_questions = {(entry["db_id"], entry["question"]) for entry in evaluated}
    candidates = [entry for entry in train if (entry["db_id"], entry["question"]) not in evaluated_questions]
    if len(candidates) < common.BASELINE_SHOTS:
        raise PipelineError(
            f"BASELINE_SHOTS={common.BASELINE_SHOTS} but the training split has only {len(candidates)} questions "
            f"outside the evaluated ones; lower it"
        )
    return random.Random(common.SEED).sample(candidates, common.BASELINE_SHOTS)


def main():
    config, scoring, batch_size = common.model_config(), common.spider_scoring(), common.generation_batch_size()
    entries = files.read_json(PATHS.spider_dev, made_by=files.SCRIPTS[0])[: common.EVALUATION_ENTRIES_SIZE]
    shots = baseline_shots(entries)
    scoring.check_databases(entries, PATHS.spider_dev)
    model.seed_everything(common.SEED)
    tokenizer = model.load_tokenizer(config)
    complete = model.generator(config, tokenizer, None, common.INFERENCE_ENGINE, common.VLLM_TENSOR_PARALLEL_SIZE)
    made_with = model.made_with(config, None, common.INFERENCE_ENGINE, batch_size, common.MAX_NEW_TOKENS)
    for key, key_shots in (("base_3shot", shots), ("base_0shot", ())):
        prompts = [spider.render(tokenizer, spider.messages(entry, key_shots)) for entry in entries]
        lengths = model.token_lengths(tokenizer, prompts)
        path = PATHS.results("spider", key)
        drawn_by = ("SEED", "BASELINE_SHOTS") if key_shots else ()  # the settings that drew the shots
        made_with["inputs"] = common.result_inputs("spider", "MAX_NEW_TOKENS", "INFERENCE_ENGINE", *drawn_by)
        records = sql_scoring.evaluate_model(
            complete, path, entries, prompts, lengths, made_with, batch_size, common.MAX_NEW_TOKENS, scoring
        )
        sql_scoring.summarize(path, records)


if __name__ == "__main__":
    files.run_main(main, PATHS.outputs)
