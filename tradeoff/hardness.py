"""Spider hardness levels (easy / medium / hard / extra) of a SQL query, parsed with sqlglot.

The levels of the official evaluator (taoyds/spider evaluation.py, Evaluator.eval_hardness; test-suite-sql-eval
counts the same) on the top-level query only: the leftmost SELECT of a set operation, as process_sql.py keeps it.
What the official code counts is mirrored, quirks included:

- A FROM subquery is a table unit (a join), not a nested query; a chain of set operations counts once.
- has_agg reads element 0 of whatever it is given: for WHERE and HAVING conditions the NOT flag (every NOT IN / NOT
  LIKE / NOT BETWEEN counts as an aggregate, a real aggregate in HAVING does not), and HAVING's AND/OR connector
  strings (their first letter is not 0).
- After a condition whose value is an unquoted column (`T1.a = T2.b`) the official parser reads tokens up to the next
  AND / comma / parenthesis / clause keyword, so an `OR cond` right after it is swallowed.
- Spider writes string values in double quotes, which sqlite reads as identifiers: a quoted identifier on the right
  of a comparison is a value here, not a column.

Queries the official parser cannot read (aliases in SELECT, IS NOT NULL, comma joins, ...) still get a level here.
"""

import functools
from collections import namedtuple

import sqlglot
from sqlglot import exp

AGGREGATES = (exp.Count, exp.Max, exp.Min, exp.Sum, exp.Avg)  # process_sql AGG_OPS: max, min, count, sum, avg
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)  # process_sql UNIT_OPS: a val_unit holds at most two col_units
# One official cond_unit, reduced to what hardness reads. nested_values: how many of val1 / val2 are subqueries;
# column_value: the value is an unquoted column, so the official value scan runs on to the next AND.
Condition = namedtuple("Condition", "negated is_like nested_values column_value")


def _condition(node):
    negated = isinstance(node, exp.Not)
    node = node.this if negated else node
    if isinstance(node, exp.Between):
        values = [node.args.get("low"), node.args.get("high")]
    elif isinstance(node, exp.In):
        values = [node.args.get("query"), *node.expressions]
    else:
        values = [node.args.get("expression")]
    column = isinstance(values[0], exp.Column) and not values[0].this.args.get("quoted")
    return Condition(
        negated=negated,
        is_like=isinstance(node, exp.Like),
        nested_values=sum(isinstance(value, (exp.Subquery, exp.Select, exp.SetOperation)) for value in values),
        column_value=column and not isinstance(node, (exp.Between, exp.In)),
    )


def condition_list(node):
    """The official condition list of a WHERE / HAVING clause or ON expression as (units, connectors), empty for None:
    AND and OR read left to right with no precedence, what the value scan swallows left out (module docstring)."""
    units, connectors = [], []

    def flatten(node):
        if isinstance(node, (exp.Where, exp.Having, exp.Paren)):  # parentheses fail the official parser: best effort
            flatten(node.this)
        elif isinstance(node, (exp.And, exp.Or)):
            flatten(node.this)
            connectors.append("and" if isinstance(node, exp.And) else "or")
            flatten(node.expression)
        elif connectors and connectors[-1] == "or" and units[-1].column_value:
            connectors.pop()
        else:
            units.append(_condition(node))

    if node is not None:
        flatten(node)
    return units, connectors


def components(sql):
    """(component1, component2, others) of the official eval_hardness, counted on the top-level SELECT."""
    root = sqlglot.parse_one(sql, dialect="sqlite")
    select = root
    while isinstance(select, (exp.SetOperation, exp.Subquery)):  # the official parse keeps the leftmost SELECT on top
        select = select.this
    if not isinstance(select, exp.Select):
        raise ValueError("not a SELECT query")
    joins, group, order = select.args.get("joins") or [], select.args.get("group"), select.args.get("order")
    # parse_from appends each ON's conditions to one list, joined by 'and'.
    ons = [join.args["on"] for join in joins if join.args.get("on") is not None]
    on_units, on_connectors = condition_list(exp.and_(*ons) if ons else None)
    where_units, where_connectors = condition_list(select.args.get("where"))
    having_units, having_connectors = condition_list(select.args.get("having"))
    units = on_units + where_units + having_units
    group_items = group.expressions if group else []
    # An ORDER BY val_unit is col_unit1 [op col_unit2]: both operands are checked for an aggregate.
    order_operands = []
    for ordered in order.expressions if order else []:
        key = ordered.this
        order_operands += [key.this, key.expression] if isinstance(key, ARITHMETIC) else [key]

    component1 = (
        bool(where_units)
        + (group is not None)
        + (order is not None)
        + (select.args.get("limit") is not None)
        + max(int(select.args.get("from_") is not None) + len(joins) - 1, 0)  # FROM items beyond the first
        + (on_connectors + where_connectors + having_connectors).count("or")
        + sum(unit.is_like for unit in units)
    )
    component2 = sum(unit.nested_values for unit in units) + int(isinstance(root, exp.SetOperation))
    # The official agg_count, has_agg reading the NOT flag and HAVING's connectors too (see the module docstring).
    aggregates = (
        sum(isinstance(item.unalias(), AGGREGATES) for item in select.expressions)
        + sum(isinstance(item, AGGREGATES) for item in group_items + order_operands)
        + sum(unit.negated for unit in where_units + having_units)
        + len(having_connectors)
    )
    others = (aggregates > 1) + (len(select.expressions) > 1) + (len(where_units) > 1) + (len(group_items) > 1)
    return component1, component2, int(others)


@functools.lru_cache(maxsize=8192)
def hardness(sql):
    """Spider hardness of a gold query: "easy", "medium", "hard" or "extra"; None when it is not one SELECT that
    sqlglot can read (a parse error, another statement, nesting deeper than Python's recursion limit)."""
    try:
        c1, c2, others = components(sql)
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return None
    # The thresholds of the official Evaluator.eval_hardness.
    if c1 <= 1 and others == 0 and c2 == 0:
        return "easy"
    if (others <= 2 and c1 <= 1 and c2 == 0) or (c1 <= 2 and others < 2 and c2 == 0):
        return "medium"
    if (
        (others > 2 and c1 <= 2 and c2 == 0)
        or (2 < c1 <= 3 and others <= 2 and c2 == 0)
        or (c1 <= 1 and others == 0 and c2 <= 1)
    ):
        return "hard"
    return "extra"
