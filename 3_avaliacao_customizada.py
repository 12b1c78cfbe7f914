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

import common


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=Path, help="score this JSONL file of predictions instead of models")
    return parser.parse_args(argv)


def evaluate_adapters():
    import modeling
    import sql_eval

    dev = common.read_json(common.SPIDER_DEV_FILE, produced_by="0_preparando_dados.py")
    entries = dev[:common.EVALUATION_ENTRIES_SIZE]
    engine = common.INFERENCE_ENGINE
    modeling.check_adapters_exist(common.EVAL_EPOCHS)
    modeling.check_engine(engine)
    common.seed_everything()
    tokenizer = modeling.load_tokenizer()
    prompts = [common.render_prompt(tokenizer, common.spider_messages(entry)) for entry in entries]
    for epoch in common.EVAL_EPOCHS:
        key = modeling.model_key(epoch)
        records = sql_eval.evaluate_model_on_spider(modeling.load_generator(tokenizer, epoch, engine), tokenizer,
                                                    key, entries, prompts, modeling.made_with(epoch, engine))
        sql_eval.summarize_spider(key, records)
        modeling.free_memory()


def read_predictions(path):
    """External predictions as evaluation entries; names the line of anything malformed."""
    if not path.exists():
        raise common.PipelineError(f"predictions file {path} does not exist")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"db_id": row["db_id"], "question": row["question"], "query": row["query"],
                         "prediction": row["prediction"]})
        except (json.JSONDecodeError, KeyError, TypeError):
            raise common.PipelineError(f"{path} line {number} is not a JSON object with db_id, question, query "
                                       f"and prediction") from None
    return rows


def score_external_predictions(path):
    import sql_eval

    rows = read_predictions(path)
    spider_dir = common.project_path(common.SPIDER_DIR)
    sql_eval.check_databases_exist(spider_dir, rows)
    key = f"external_{path.stem}"
    # The prediction is what is scored: it stands in for the prompt, so a changed prediction is scored again.
    predictions = [row["prediction"] for row in rows]
    records = common.resume_records(sql_eval.results_path(key), {"predictions_file": str(path.resolve())},
                                    predictions)
    done = {record["index"] for record in records}
    with common.open_checkpoint(sql_eval.results_path(key), records) as handle:
        pending = [(index, row["prediction"]) for index, row in enumerate(rows) if index not in done]
        for start in range(0, len(pending), common.EVAL_BATCH_SIZE):
            sql_eval.score_and_append(handle, rows, pending[start:start + common.EVAL_BATCH_SIZE], spider_dir,
                                      predictions)
    records = sorted(common.read_jsonl_records(sql_eval.results_path(key)), key=lambda record: record["index"])
    sql_eval.summarize_spider(key, records)


def main(argv=None):
    args = parse_arguments(argv)
    if args.predictions:
        score_external_predictions(args.predictions)
    else:
        evaluate_adapters()


if __name__ == "__main__":
    common.run_main(main)
