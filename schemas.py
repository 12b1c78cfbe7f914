"""What each file the pipeline reads must hold: one JSON Schema per file (checked with jsonschema when it is read).

A file of the wrong shape stops the run with one line naming the file, the entry at fault, what is wrong, and the fix.
Only what later steps rely on is required; fields may be added. Checks across files (a subject missing from the dev
file, settings that differ from this run's) stay with the code that knows both files.
"""

from pathlib import Path

import jsonschema

import common

TEXT = {"type": "string"}
BINARY = {"enum": [0, 1]}
ANSWER = {"type": "integer", "minimum": 0, "maximum": 3}


def objects_with(required, **typed):
    """An object with these fields required (text unless typed otherwise) and these others typed where present."""
    return {"type": "object", "required": list(required), "properties": {**dict.fromkeys(required, TEXT), **typed}}


def list_of(item):
    return {"type": "array", "items": item}


# The official Spider release (inputs of script 0).
SPIDER_RELEASE_SPLIT = list_of(objects_with(("db_id", "question", "query")))
SPIDER_TABLES = list_of(
    objects_with(
        ("db_id", "table_names_original", "column_names_original"),
        table_names_original=list_of(TEXT),
        column_names_original=list_of(
            {"type": "array", "prefixItems": [{"type": "integer"}, TEXT], "minItems": 2, "maxItems": 2}
        ),
    )
)
# External predictions (script 3 --predictions), one object a line; a prediction that is not text scores 0.
PREDICTION_LINE = objects_with(("db_id", "question", "query", "prediction"), prediction={})

# Handed-off files: what script 0 prepares, what script 1 records, what scripts 2-4 append.
SPIDER_PREPARED = list_of(objects_with(("db_id", "question", "query", "db_schema")))
MMLU_QUESTION = objects_with(
    ("question", "subject", "choices", "answer"),
    choices={"type": "array", "items": TEXT, "minItems": 4, "maxItems": 4},
    answer=ANSWER,
    category=TEXT,
)
MMLU_TEST = list_of(dict(MMLU_QUESTION, required=[*MMLU_QUESTION["required"], "category"]))
MMLU_DEV = {"type": "object", "additionalProperties": list_of(MMLU_QUESTION)}
PREPARED_MANIFEST = objects_with(("settings",), settings={"type": "object"}, counts={"type": "object"})
TRAINING_MANIFEST = objects_with(
    ("config", "epochs", "finished"),
    config={"type": "object"},
    epochs={"type": "object", "additionalProperties": TEXT},
    finished={"type": "boolean"},
)
# What peft reads from an adapter folder before its weights (a wrong type there is a peft TypeError).
ADAPTER_CONFIG = {
    "type": "object",
    "required": ["peft_type", "r", "lora_alpha", "target_modules"],
    "properties": {
        "peft_type": {"const": "LORA"},
        "r": {"type": "integer", "minimum": 1},
        "lora_alpha": {"type": "number"},
        "lora_dropout": {"type": "number", "minimum": 0, "maximum": 1},
        "target_modules": {"type": ["array", "string"], "items": TEXT},
    },
}
RECORD = {"index": {"type": "integer", "minimum": 0}, "prompt": TEXT}  # a record of another prompt is recomputed
ANY_RECORD = objects_with(("index",), **RECORD)
SPIDER_RECORD = objects_with(
    ("index", "db_id", "score", "strict_score"),
    **RECORD,
    score=BINARY,
    strict_score=BINARY,
    test_suite_score={"enum": [0, 1, None]},
    error_kind={"type": ["string", "null"]},
    hardness={"type": ["string", "null"]},
)
MMLU_RECORD = objects_with(
    ("index", "category", "correct"),
    **RECORD,
    answer=ANSWER,
    predicted=ANSWER,
    correct=BINARY,
    generated_correct={"enum": [0, 1, None]},
)


def schema_of(path):
    """The schema of a handed-off file (of each line, for a per-example .jsonl file); None for other files."""
    path, paths = Path(path), common.PATHS
    named = {
        paths.spider_train: SPIDER_PREPARED,
        paths.spider_dev: SPIDER_PREPARED,
        paths.mmlu_test: MMLU_TEST,
        paths.mmlu_dev: MMLU_DEV,
        paths.prepared_manifest: PREPARED_MANIFEST,
        paths.training_manifest: TRAINING_MANIFEST,
    }
    if path in named:
        return named[path]
    if path.suffix == ".jsonl":
        return {paths.spider_results: SPIDER_RECORD, paths.mmlu_results: MMLU_RECORD}.get(path.parent, ANY_RECORD)
    return None


JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "an integer", float: "a number"}
SCHEMA_TYPES = {"object": "an object", "array": "a list", "string": "text", "boolean": "a boolean"}
SCHEMA_TYPES.update(integer="an integer", number="a number", null="null")
VALIDATORS = {}


def describe(error):
    """What is wrong, in words, without repeating a large value."""
    at = ", ".join(f"entry {part}" if isinstance(part, int) else f"field {part!r}" for part in error.absolute_path)
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        found = JSON_TYPES.get(type(error.instance), "null")
        what = f"should be {' or '.join(SCHEMA_TYPES[name] for name in wanted)}, found {found}"
    else:
        what = error.message if len(error.message) <= 120 else error.message[:120] + "..."
    return f" {at}: {what}" if at else f": {what}"


def check(data, schema, where, fix):
    """Raise one line (where, the entry at fault, what is wrong, fix) if data does not match schema."""
    validator = VALIDATORS.setdefault(id(schema), jsonschema.Draft202012Validator(schema))
    error = next(validator.iter_errors(data), None)  # the first in file order: entry 0 before entry 105
    if error is not None:
        raise common.PipelineError(f"{where}{describe(error)}; {fix}")
    return data
