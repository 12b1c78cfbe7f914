"""Write the demo's Spider question files (train_spider.json, train_others.json, dev.json), templated over the six
demo databases (data/demo/spider: sql/, tables.json) and drawn with the seed. Unlike Spider's, the training split
covers the dev databases too (a tiny model cannot learn unseen schemas in minutes), never a dev question or query.
Run:  python -m tools.demo_spider
"""

import itertools
import json
import random
import re
import sqlite3

import common

SPIDER_DIR = common.project_path(common.PROFILES["demo"]["SPIDER_DIR"])
# Questions per database of each file; dev.json is grouped by database, as in Spider, and train_others.json keeps a
# training database apart, as Spider's does.
SIZES = {
    "dev.json": dict(music_festival=55, school_district=55),
    "train_spider.json": dict(
        music_festival=60, school_district=60, city_library=50, football_league=50, hospital_ward=50
    ),
    "train_others.json": dict(regional_airline=26),
}
# name: (wordings, SQL). Slots: {T} table, {one}/{many} its words, {A} {B} {C} columns and {a} {b} {c} their words,
# {v} a value as the question says it and {V} as SQL writes it; the rest as slot_fillings() fills them.
TEMPLATES = {
    "count": (("How many {many} are there?", "Count the number of {many}."), "SELECT count(*) FROM {T}"),
    "list": (("List the {a} of all {many}.", "Show the {a} of every {one}."), "SELECT {A} FROM {T}"),
    "list_two": (
        ("Show the {a} and {b} of all {many}.", "List the {a} and the {b} of each {one}."),
        "SELECT {A} ,  {B} FROM {T}",
    ),
    "aggregate": (
        ("What is the {agg} {a} of all {many}?", "Find the {agg} {a} of the {many}."),
        "SELECT {f}({A}) FROM {T}",
    ),
    "where_number": (
        ("Show the {a} of the {many} whose {b} is {than} {v}.", "Which {many} have a {b} {than} {v}? Give their {a}."),
        "SELECT {A} FROM {T} WHERE {B}  {op}  {V}",
    ),
    "top": (
        ("What is the {a} of the {one} with the {most} {b}?", "Which {one} has the {most} {b}? Give its {a}."),
        "SELECT {A} FROM {T} ORDER BY {B} {order} LIMIT 1",
    ),
    "order": (
        (
            "List the {a} of all {many} sorted by {b} in {sense} order.",
            "Show the {a} of every {one}, ordered by {b} ({sense}).",
        ),
        "SELECT {A} FROM {T} ORDER BY {B} {order}",
    ),
    "above_average": (
        (
            "Which {many} have a {b} above the average? Give their {a}.",
            "Show the {a} of the {many} whose {b} is above average.",
        ),
        "SELECT {A} FROM {T} WHERE {B}  >  (SELECT avg({B}) FROM {T})",
    ),
    "where_text": (
        ("Show the {a} of the {many} whose {b} is {v}.", "What is the {a} of each {one} with {b} {v}?"),
        "SELECT {A} FROM {T} WHERE {B}  =  {V}",
    ),
    "union": (
        ("Show the {a} of the {many} whose {b} is {v} or whose {c} is greater than {w}.",),
        "SELECT {A} FROM {T} WHERE {B}  =  {V} UNION SELECT {A} FROM {T} WHERE {C}  >  {W}",
    ),
    "count_where": (
        ("How many {many} have {a} {v}?", "Count the {many} whose {a} is {v}."),
        "SELECT count(*) FROM {T} WHERE {A}  =  {V}",
    ),
    "group_count": (
        ("How many {many} are there for each {a}?", "Show each {a} and the number of {many} with it."),
        "SELECT {A} ,  count(*) FROM {T} GROUP BY {A}",
    ),
    "distinct": (
        ("What are the distinct {a} values of the {many}?", "List the different {a} of the {many}."),
        "SELECT DISTINCT {A} FROM {T}",
    ),
    "having": (
        ("Which {a} values are shared by at least two {many}?", "List the {a} values that at least two {many} have."),
        "SELECT {A} FROM {T} GROUP BY {A} HAVING count(*)  >=  2",
    ),
    "group_average": (
        ("What is the average {b} of the {many} for each {a}?", "Show each {a} and the average {b} of its {many}."),
        "SELECT {A} ,  avg({B}) FROM {T} GROUP BY {A}",
    ),
    "join": (
        (
            "Show the {a} of each {one} and the {b} of its {other}.",
            "For every {one}, list its {a} and the {b} of its {other}.",
        ),
        "SELECT T1.{A} ,  T2.{B} FROM {T} AS T1 JOIN {O} AS T2 ON T1.{K}  =  T2.{OK}",
    ),
    "join_where": (
        ("Show the {a} of the {many} whose {other} has {b} {v}.",),
        "SELECT T1.{A} FROM {T} AS T1 JOIN {O} AS T2 ON T1.{K}  =  T2.{OK} WHERE T2.{B}  =  {V}",
    ),
    "not_in": (
        ("Show the {b} of the {others} that have no {one}.", "Which {others} have no {one}? Give their {b}."),
        "SELECT {B} FROM {O} WHERE {OK} NOT IN (SELECT {K} FROM {T})",
    ),
}
AGGREGATES = (("average", "avg"), ("maximum", "max"), ("minimum", "min"), ("total", "sum"))
PLURALS = {"aircraft": "aircraft"}


def plural(words):
    return PLURALS.get(words) or words + ("es" if re.search(r"(s|ch|sh|x)$", words) else "s")


def literal(value):
    """A value as the question and as SQL write it (integral floats without '.0')."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value), (repr(value) if isinstance(value, str) else str(value))


def database_facts(spider_dir, database):
    """{table: {"one", "many", "columns", "category", "number"}} (columns as (name, words); categories: text columns
    with repeated values), the foreign keys as (table, column, referenced table, referenced column) where two tables
    join one way only, and (table, column) -> sorted distinct values."""
    connection = sqlite3.connect(":memory:")
    connection.executescript((spider_dir / "sql" / f"{database['db_id']}.sql").read_text(encoding="utf-8"))
    names, original = database["column_names_original"], database["table_names_original"]
    tables, values = {}, {}
    for index, table in enumerate(original):
        rows = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        words = database["table_names"][index]
        info = tables[table] = {"one": words, "many": plural(words), "columns": [], "category": [], "number": []}
        for position, (owner, name) in enumerate(names):
            if owner != index or re.search(r"(_ID|_Code)$", name):
                continue
            found = connection.execute(f'SELECT DISTINCT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL')
            values[table, name] = sorted(row[0] for row in found)
            column = (name, database["column_names"][position][1])
            info["columns"].append(column)
            kind = database["column_types"][position]
            if kind == "number":
                info["number"].append(column)
            elif kind == "text" and len(values[table, name]) < rows:
                info["category"].append(column)
    connection.close()
    keys = [
        (original[names[a][0]], names[a][1], original[names[b][0]], names[b][1]) for a, b in database["foreign_keys"]
    ]
    keys = [key for key in keys if sum(k[0] == key[0] and k[2] == key[2] for k in keys) == 1]
    return tables, keys, values


def slot_fillings(tables, keys, values, rng):
    """(template, slots) for every instance of every template on one database."""

    def middle(table, column):  # a threshold inside the column's range, so that a filter keeps some rows
        distinct = values[table, column]
        return literal(distinct[rng.randrange(len(distinct) // 4, max(len(distinct) * 3 // 4, 1))])

    for table, info in tables.items():
        base = {"T": table, "one": info["one"], "many": info["many"]}
        yield "count", base
        for (A, a), (B, b) in itertools.product(info["columns"], repeat=2):
            if A == B:
                yield "list", dict(base, A=A, a=a)
                continue
            pair = dict(base, A=A, a=a, B=B, b=b)
            yield "list_two", pair
            if (B, b) in info["number"]:
                v, V = middle(table, B)
                for than, op in (("greater than", ">"), ("less than", "<")):
                    yield "where_number", dict(pair, than=than, op=op, v=v, V=V)
                for most, order in (("highest", "DESC"), ("lowest", "ASC")):
                    yield "top", dict(pair, most=most, order=order)
                for sense, order in (("descending", "DESC"), ("ascending", "ASC")):
                    yield "order", dict(pair, sense=sense, order=order)
                yield "above_average", pair
            if (B, b) in info["category"]:
                for v, V in map(literal, values[table, B]):
                    yield "where_text", dict(pair, v=v, V=V)
                v, V = literal(values[table, B][0])
                for C, c in info["number"]:
                    w, W = middle(table, C)
                    yield "union", dict(pair, v=v, V=V, C=C, c=c, w=w, W=W)
        for (A, a), (agg, f) in itertools.product(info["number"], AGGREGATES):
            yield "aggregate", dict(base, A=A, a=a, agg=agg, f=f)
        for A, a in info["category"]:
            for v, V in map(literal, values[table, A]):
                yield "count_where", dict(base, A=A, a=a, v=v, V=V)
            for template in ("group_count", "distinct", "having"):
                yield template, dict(base, A=A, a=a)
            for B, b in info["number"]:
                yield "group_average", dict(base, A=A, a=a, B=B, b=b)
    for table, key, other, other_key in keys:
        info, other_info = tables[table], tables[other]
        base = {"T": table, "one": info["one"], "many": info["many"], "K": key, "OK": other_key, "O": other}
        base |= {"other": other_info["one"], "others": other_info["many"]}
        for A, a in info["columns"]:
            for B, b in other_info["columns"]:
                yield "join", dict(base, A=A, a=a, B=B, b=b)
                if (B, b) in other_info["category"]:
                    for v, V in map(literal, values[other, B]):
                        yield "join_where", dict(base, A=A, a=a, B=B, b=b, v=v, V=V)
        for B, b in other_info["columns"]:
            yield "not_in", dict(base, B=B, b=b)


def instances(spider_dir, database, rng):
    """template -> [(question, query)]: every instance of every template on one database, wordings drawn with rng."""
    found = {}
    for template, slots in slot_fillings(*database_facts(spider_dir, database), rng):
        wordings, sql = TEMPLATES[template]
        found.setdefault(template, []).append((rng.choice(wordings).format(**slots), sql.format(**slots)))
    return found


def synthetic_questions(spider_dir, seed, exclude):
    """db_id -> [(question, query)]: every templated instance on every database whose question and query are both
    outside exclude (the dev split's), in a seeded order; the tiny model's pretraining corpus draws on it."""
    rng = random.Random(f"{seed}:synthetic-questions")
    pool = {}
    for database in json.loads((spider_dir / "tables.json").read_text(encoding="utf-8")):
        found = instances(spider_dir, database, rng)
        pairs = [pair for template in sorted(found) for pair in found[template] if not exclude.intersection(pair)]
        rng.shuffle(pairs)
        pool[database["db_id"]] = pairs
    return pool


def draw(found, size, taken, rng):
    """size (question, query) pairs, the templates taken in turn, none whose question or query is in taken."""
    pools = {template: rng.sample(pairs, len(pairs)) for template, pairs in sorted(found.items())}
    order = rng.sample(sorted(pools), len(pools))
    chosen = []
    while len(chosen) < size and any(pools.values()):
        for template in order:
            while pools[template] and len(chosen) < size:
                question, query = pools[template].pop()
                if question not in taken and query not in taken:
                    taken.update((question, query))
                    chosen.append((question, query))
                    break
    return chosen


def entry(db_id, question, query):
    """A Spider entry, tokens included (query_toks_no_value: literals as "value", names split at dots)."""
    toks = re.findall(r"'(?:[^']|'')*'|[A-Za-z_][\w.]*|\d+(?:\.\d+)?|[<>!]=|[^\s\w]", query)
    no_value = []
    for tok in toks:
        if tok[0] == "'" or re.fullmatch(r"\d+(\.\d+)?", tok):
            no_value.append("value")
        else:
            no_value += [part for part in re.split(r"(\.)", tok.lower()) if part]
    return dict(
        db_id=db_id,
        query=query,
        query_toks=toks,
        query_toks_no_value=no_value,
        question=question,
        question_toks=re.findall(r"\w+(?:[.'-]\w+)*|[^\w\s]", question),
    )


def spider_files(spider_dir=SPIDER_DIR):
    """{file name: entries} of the three question files, as this module writes them."""
    rng = random.Random(f"{common.SEED}:demo-spider")
    databases = {d["db_id"]: d for d in json.loads((spider_dir / "tables.json").read_text(encoding="utf-8"))}
    found = {db_id: instances(spider_dir, databases[db_id], rng) for db_id in sorted(databases)}
    taken, files = set(), {}
    for name, sizes in SIZES.items():  # dev first: the training files take what it left
        pairs = [(db_id, pair) for db_id, size in sizes.items() for pair in draw(found[db_id], size, taken, rng)]
        if name != "dev.json":
            rng.shuffle(pairs)  # Spider's training files are not grouped by database
        files[name] = [entry(db_id, question, query) for db_id, (question, query) in pairs]
    return files


def main():
    for name, entries in spider_files().items():
        lines = ",\n".join("  " + json.dumps(entry, ensure_ascii=False) for entry in entries)
        (SPIDER_DIR / name).write_text(f"[\n{lines}\n]\n", encoding="utf-8")  # one entry a line
        print(f"{name}: {len(entries)} questions")


if __name__ == "__main__":
    main()
