"""Step 3: the fine-tuned models on Spider, scored by the custom DeepEval metric ExecutionAccuracy.

For each epoch in EVAL_EPOCHS: the base model plus that epoch's LoRA adapter, the first EVALUATION_ENTRIES_SIZE dev
questions, batched greedy decoding, then two scores per example through deepeval.evaluate: the study's rule
(result sets equal, ignoring order and duplicates; Figure 7) and the official Spider evaluator's stricter rule.
Each example's outcome is checkpointed as it is produced; a re-run continues where the last one stopped.

Scoring predictions made elsewhere (any system, no model needed):
    python 3_avaliacao_customizada.py --predictions FILE.jsonl
one JSON object a line with db_id, question, query (gold) and prediction; results go to
outputs/<profile>/spider/external_<FILE>.jsonl and .summary.json, in the same format.
"""

import argparse
import json
from pathlib import Path

import checkpoints
import common
import prompts
import records
import runner
import spider


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=Path, help="score this JSONL file of predictions instead of models")
    return parser.parse_args(argv)


def evaluate_adapters():
    import modeling

    engine, batch_size = common.INFERENCE_ENGINE, modeling.engine_batch_size(common.INFERENCE_ENGINE)
    checkpoints.check_adapters_exist(common.EVAL_EPOCHS)
    modeling.check_engine(engine)
    entries = spider.evaluated_entries()
    spider.check_databases_exist(entries)
    modeling.seed_everything()
    tokenizer = modeling.load_tokenizer()
    texts = [prompts.render_prompt(tokenizer, prompts.spider_messages(entry)) for entry in entries]
    lengths = modeling.token_lengths(tokenizer, texts)
    for epoch in common.EVAL_EPOCHS:
        key = records.model_key(epoch)
        complete = modeling.load_generator(tokenizer, epoch, engine)
        made_with = modeling.made_with(epoch, engine, batch_size)
        spider.summarize(key, spider.evaluate_model(complete, key, entries, texts, lengths, made_with, batch_size))
        modeling.free_memory()


def score_external_predictions(path):
    """Score a predictions file: its predictions stand in for the prompts, so a changed one is scored again."""
    rows = spider.read_predictions(path)
    spider.check_databases_exist(rows)
    key = f"external_{path.stem}"
    predictions = [row["prediction"] for row in rows]
    texts = [p if isinstance(p, str) else json.dumps(p) for p in predictions]  # what the records' hashes are of
    made_with = {"predictions_file": str(path.resolve())}

    def evaluate_batch(indices):
        return spider.score_outputs([rows[i] for i in indices], [predictions[i] for i in indices])

    same_lengths = [0] * len(rows)  # no model: batches in file order
    key_records = runner.evaluate(
        records.results_path("spider", key),
        made_with,
        texts,
        same_lengths,
        common.EVAL_BATCH_SIZE,
        evaluate_batch,
        f"spider {key}",
    )
    spider.summarize(key, key_records)


def main(argv=None):
    args = parse_arguments(argv)
    if args.predictions:
        score_external_predictions(args.predictions)
    else:
        evaluate_adapters()


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
