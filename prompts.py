"""Every prompt of the study, as chat messages; the tokenizer's chat template turns them into the model's format,
so with Qwen2 they render exactly as the study's Figure 2.

Spider: the schema as in Figure 1, the question, the system prompt of Figure 2 (few-shot examples, baseline only,
as earlier turns). MMLU: the original MMLU code's 4-shot prompt (header, the subject's first dev examples with their
answers, the question ending in "Answer:"), plain or through the chat template exactly as lm-evaluation-harness
sends it (MMLU_PROMPT_FORMAT).
"""

import hashlib

import common

SPIDER_SYSTEM_PROMPT = "You are an expert text-to-SQL assistant."
MMLU_LETTERS = ("A", "B", "C", "D")


def schema_text(db_id, tables):
    """The schema as in the study's Figure 1: 'Database: X', then 'Table t (c1, c2, ...)' per (table, columns)."""
    lines = [f"Database: {db_id}"] + [f"Table {table} ({', '.join(columns)})" for table, columns in tables]
    return "\n".join(lines) + "\n"


def spider_user_message(entry):
    return (
        f"Given the following database schema:\n{entry['db_schema']}\n"
        f"Generate the SQL query for the following question:\n{entry['question']}"
    )


def spider_messages(entry, shots=()):
    """Figure 2's conversation; few-shot examples (baseline only) come first as earlier user/assistant turns."""
    messages = [{"role": "system", "content": SPIDER_SYSTEM_PROMPT}]
    for shot in shots:
        messages += [
            {"role": "user", "content": spider_user_message(shot)},
            {"role": "assistant", "content": shot["query"]},
        ]
    messages.append({"role": "user", "content": spider_user_message(entry)})
    return messages


def spider_training_example(entry):
    """Prompt/completion pair for training: the loss falls on the completion (the SQL and its end of turn) only."""
    return {"prompt": spider_messages(entry), "completion": [{"role": "assistant", "content": entry["query"]}]}


def mmlu_question_block(item, with_answer):
    lines = [item["question"].strip()]
    lines += [f"{letter}. {choice}" for letter, choice in zip(MMLU_LETTERS, item["choices"])]
    lines.append(f"Answer: {MMLU_LETTERS[item['answer']]}" if with_answer else "Answer:")
    return "\n".join(lines)


def mmlu_header(subject):
    return f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"


def mmlu_body(item, dev_examples):
    """The MMLU_SHOTS dev examples with their answers, then the question ending in "Answer:"."""
    shots = [mmlu_question_block(shot, with_answer=True) for shot in dev_examples[: common.MMLU_SHOTS]]
    return "\n\n".join(shots + [mmlu_question_block(item, with_answer=False)])


def mmlu_prompt(tokenizer, item, dev_examples, prompt_format):
    """The 4-shot prompt as lm-evaluation-harness builds it: "plain", the raw text; "chat", through the model's chat
    template with the header as the system turn (its --apply_chat_template --fewshot_as_multiturn false mode)."""
    header, body = mmlu_header(item["subject"]), mmlu_body(item, dev_examples)
    if prompt_format == "plain":
        return header + body
    return render_prompt(tokenizer, [{"role": "system", "content": header}, {"role": "user", "content": body}])


def mmlu_answer_texts(prompt_format):
    """What is scored after the prompt: " A".." D" after "Answer:" (plain), the bare letter in a new turn (chat)."""
    return tuple((" " if prompt_format == "plain" else "") + letter for letter in MMLU_LETTERS)


def render_prompt(tokenizer, messages):
    """Messages to the text the model sees, with the assistant turn opened."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_digest(prompt):
    """A short hash of one example's prompt, stored with its outcome: a changed prompt is recomputed, not reused."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]
