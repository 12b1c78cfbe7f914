"""Step 2: the base model on Spider, before any fine-tuning.

Two baselines on the first EVALUATION_ENTRIES_SIZE dev questions:
  base_3shot  the study's baseline: BASELINE_SHOTS examples drawn with the seed from the training split (never from
              the evaluated questions), shown as earlier turns of the conversation;
  base_0shot  exactly the prompt the fine-tuned models get, so that base vs fine-tuned is like for like.
Each example's outcome is checkpointed as it is produced; a re-run continues where the last one stopped.
"""
import random

import common


def evaluated_entries():
    dev = common.read_json(common.SPIDER_DEV_FILE, produced_by="0_preparando_dados.py")
    return dev[:common.EVALUATION_ENTRIES_SIZE]


def baseline_shots(evaluated):
    """BASELINE_SHOTS training examples drawn with the seed, none of them an evaluated question."""
    train = common.read_json(common.SPIDER_TRAIN_FILE, produced_by="0_preparando_dados.py")
    evaluated_questions = {(entry["db_id"], entry["question"]) for entry in evaluated}
    candidates = [entry for entry in train if (entry["db_id"], entry["question"]) not in evaluated_questions]
    return random.Random(common.SEED).sample(candidates, common.BASELINE_SHOTS)


def main():
    import modeling
    import sql_eval

    engine = common.INFERENCE_ENGINE
    modeling.check_engine(engine)
    common.seed_everything()
    entries = evaluated_entries()
    shots = baseline_shots(entries)
    tokenizer = modeling.load_tokenizer()
    complete = modeling.load_generator(tokenizer, engine=engine)
    prompts = {
        "base_3shot": [common.render_prompt(tokenizer, common.spider_messages(entry, shots)) for entry in entries],
        "base_0shot": [common.render_prompt(tokenizer, common.spider_messages(entry)) for entry in entries],
    }
    for key, key_prompts in prompts.items():
        records = sql_eval.evaluate_model_on_spider(complete, tokenizer, key, entries, key_prompts,
                                                    modeling.made_with(None, engine))
        sql_eval.summarize_spider(key, records)


if __name__ == "__main__":
    common.run_main(main)
