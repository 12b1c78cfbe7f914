"""Step 3: the fine-tuned models on Spider, scored by the custom DeepEval metric ExecutionAccuracy.

For each epoch in EVAL_EPOCHS: the base model plus that epoch's LoRA adapter, the first EVALUATION_ENTRIES_SIZE dev
questions, batched greedy decoding, then two scores per example through deepeval.evaluate: the study's rule
(result sets equal, ignoring order and duplicates; Figure 7) and the official Spider evaluator's stricter rule.
Each example's outcome is saved as it is produced; a re-run continues where the last one stopped.

Scoring predictions made elsewhere (any system, no model needed):
    python 3_avaliacao_customizada.py --predictions FILE.jsonl
one JSON object a line with db_id, question, query (gold) and prediction; results go to
outputs/<profile>/spider/external_<FILE>.jsonl and .summary.json, in the same format.
"""

import argparse
from pathlib import Path

import common
from tradeoff import files, spider, sql_scoring

PATHS = common.PATHS


def evaluate_adapters(scoring):
    from tradeoff import model, training  # torch and the model: not needed to score a predictions file

    config, batch_size = common.model_config(), common.generation_batch_size()
    adapters = {epoch: training.adapter_path(PATHS, epoch) for epoch in common.EVAL_EPOCHS}
    entries = files.read_json(PATHS.spider_dev, made_by=files.SCRIPTS[0])[: common.EVALUATION_ENTRIES_SIZE]
    scoring.check_databases(entries, PATHS.spider_dev)
    model.seed_everything(common.SEED)
    tokenizer = model.load_tokenizer(config)
    prompts = [spider.render(tokenizer, spider.messages(entry)) for entry in entries]
    lengths = model.token_lengths(tokenizer, prompts)
    for epoch, adapter in adapters.items():
        complete = model.generator(
            config, tokenizer, adapter, common.INFERENCE_ENGINE, common.VLLM_TENSOR_PARALLEL_SIZE
        )
        made_with = model.made_with(config, adapter, common.INFERENCE_ENGINE, batch_size, common.MAX_NEW_TOKENS)
        made_with["inputs"] = common.result_inputs("spider", "MAX_NEW_TOKENS", "INFERENCE_ENGINE")
        path = PATHS.results("spider", files.model_key(epoch))
        records = sql_scoring.evaluate_model(
            complete, path, entries, prompts, lengths, made_with, batch_size, common.MAX_NEW_TOKENS, scoring
        )
        sql_scoring.summarize(path, records)
        model.free_memory()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=Path, help="score this JSONL file of predictions instead of models")
    args = parser.parse_args(argv)
    scoring = common.spider_scoring()
    if args.predictions:
        path = PATHS.results("spider", f"external_{args.predictions.stem}")
        records = sql_scoring.evaluate_predictions_file(args.predictions, path, common.EVAL_BATCH_SIZE, scoring)
        sql_scoring.summarize(path, records)
    else:
        evaluate_adapters(scoring)


if __name__ == "__main__":
    files.run_main(main, PATHS.outputs)
