"""Step 2: the base model on Spider, before any fine-tuning.

Two baselines on the first EVALUATION_ENTRIES_SIZE dev questions:
  base_3shot  the study's baseline: BASELINE_SHOTS examples drawn with the seed from the training split (never from
              the evaluated questions), shown as earlier turns of the conversation;
  base_0shot  exactly the prompt the fine-tuned models get, so that base vs fine-tuned is like for like.
Each example's outcome is checkpointed as it is produced; a re-run continues where the last one stopped.
"""

import random

import common
import modeling
import prompts
import records
import spider


def baseline_shots(evaluated):
    """BASELINE_SHOTS training examples drawn with the seed, none of them an evaluated question."""
    train = spider.read_entries(common.PATHS.spider_train)
    evaluated_questions = {(entry["db_id"], entry["question"]) for entry in evaluated}
    candidates = [entry for entry in train if (entry["db_id"], entry["question"]) not in evaluated_questions]
    if len(candidates) < common.BASELINE_SHOTS:
        raise common.PipelineError(
            f"BASELINE_SHOTS={common.BASELINE_SHOTS} but the training split has only "
            f"{len(candidates)} questions outside the evaluated ones; lower it"
        )
    return random.Random(common.SEED).sample(candidates, common.BASELINE_SHOTS)


def main():
    engine, batch_size = common.INFERENCE_ENGINE, modeling.engine_batch_size(common.INFERENCE_ENGINE)
    modeling.check_engine(engine)
    entries = spider.evaluated_entries()
    shots = baseline_shots(entries)
    spider.check_databases_exist(entries)
    modeling.seed_everything()
    tokenizer = modeling.load_tokenizer()
    complete = modeling.load_generator(tokenizer, None, engine)
    made_with = modeling.made_with(None, engine, batch_size)
    for key, key_shots in (("base_3shot", shots), ("base_0shot", ())):
        texts = [prompts.render_prompt(tokenizer, prompts.spider_messages(entry, key_shots)) for entry in entries]
        lengths = modeling.token_lengths(tokenizer, texts)
        key_records = spider.evaluate_model(complete, key, entries, texts, lengths, made_with, batch_size)
        spider.summarize(key, key_records)


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
