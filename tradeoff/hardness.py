"""Spider hardness levels (easy / medium / hard / extra) of a SQL query, parsed with sqlglot.

The levels are those of the official Spider evaluator (taoyds/spider, evaluation.py: `Evaluator.eval_hardness` with
`count_component1`, `count_component2`, `count_others`; the parse tree is process_sql.py's `get_sql`). This module
parses with sqlglot's sqlite dialect instead of that hand-written parser, and mirrors what the official code counts,
quirks included (taoyds/test-suite-sql-eval's evaluation.py has the same counting functions and thresholds), on the
top-level query only (the leftmost SELECT of a set operation, as the official parse keeps it):

- component1: WHERE, GROUP BY, ORDER BY, LIMIT (one each when present); one per FROM item beyond the first (a FROM
  subquery is an item too); one per OR connector and one per LIKE condition (NOT LIKE included) across the JOIN ... ON
  conditions, WHERE and HAVING.
- component2: one per subquery used as a condition's value in ON / WHERE / HAVING (two for a BETWEEN with two), plus one
  when the query is a set operation (INTERSECT / UNION / EXCEPT: the official parse nests the rest of a chain inside the
  right operand, so a chain still counts once). Subqueries in FROM are table units there, not nested queries.
- others: +1 if "aggregates" > 1, +1 if more than one SELECT item, +1 if more than one WHERE condition, +1 if more than
  one GROUP BY column. The official `has_agg` reads element 0 of whatever it is given, so its "aggregates" are:
  SELECT items that are an aggregate call, aggregate operands of ORDER BY items, aggregate GROUP BY items, but for WHERE
  and HAVING conditions element 0 is the NOT flag (every `NOT IN` / `NOT LIKE` / `NOT BETWEEN` counts, a real aggregate
  in HAVING does not), and HAVING's AND/OR connector strings count too (their first letter is not 0).
- A condition whose value is an unquoted column (`T1.a = T2.b`) makes the official parser read tokens up to the next
  AND / comma / parenthesis / clause keyword, so an `OR cond` right after it is swallowed: mirrored here.

Spider writes string values in double quotes, which sqlite's grammar reads as identifiers: a quoted identifier on the
right of a comparison is therefore a value here, not a column. Queries the official parser cannot read (aliases in
SELECT, IS NOT NULL, comma joins, aliases reused for another table across a set operation, ...) still get a level here.
"""

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

AGGREGATES = (exp.Count, exp.Max, exp.Min, exp.Sum, exp.Avg)  # process_sql AGG_OPS: max, min, count, sum, avg
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)  # process_sql UNIT_OPS: a val_unit holds at most two col_units


@dataclass(frozen=True)
class Condition:
    """One official cond_unit: (not_op, op_id, val_unit, val1, val2), reduced to what hardness reads."""

    negated: bool
    is_like: bool
    nested_values: int  # how many of val1 / val2 are subqueries
    column_value: bool  # value is an unquoted column: the official value scan runs on to the next AND


@dataclass(frozen=True)
class ConditionList:
    """An official condition list [cond, 'and'/'or', cond, ...] kept as units and connectors."""

    units: tuple[Condition, ...] = ()
    connectors: tuple[str, ...] = ()


def _is_subquery(node: exp.Expression | None) -> bool:
    return isinstance(node, (exp.Subquery, exp.Select, exp.SetOperation))


def _is_column_value(node: exp.Expression | None) -> bool:
    # A double-quoted Spider string parses as a quoted identifier: a value for the official tokenizer, not a column.
    return isinstance(node, exp.Column) and not node.this.args.get("quoted")


def _condition(node: exp.Expression) -> Condition:
    negated = isinstance(node, exp.Not)
    if negated:
        node = node.this
    if isinstance(node, exp.Between):
        values = [node.args.get("low"), node.args.get("high")]
    elif isinstance(node, exp.In):
        values = [node.args.get("query")] + list(node.expressions)
    else:
        values = [node.args.get("expression")]
    return Condition(
        negated=negated,
        is_like=isinstance(node, exp.Like),
        nested_values=sum(_is_subquery(value) for value in values),
        column_value=not isinstance(node, (exp.Between, exp.In)) and _is_column_value(values[0]),
    )


def _flatten(node: exp.Expression, units: list, connectors: list) -> None:
    """Left-to-right flattening, as the official parser reads AND/OR with no precedence."""
    if isinstance(node, exp.Paren):  # the official parser fails on parenthesised conditions; best effort here
        _flatten(node.this, units, connectors)
    elif isinstance(node, (exp.And, exp.Or)):
        _flatten(node.this, units, connectors)
        connectors.append("and" if isinstance(node, exp.And) else "or")
        _flatten(node.expression, units, connectors)
    else:
        units.append(_condition(node))


def condition_list(node: exp.Expression | None) -> ConditionList:
    """The official condition list of a WHERE / HAVING / ON expression (empty when absent), without what the official
    value scan swallows: after a column value, every OR and the condition after it, up to the next AND."""
    units, connectors = [], []
    if node is not None:
        _flatten(node, units, connectors)
    kept_units, kept_connectors = units[:1], []
    for connector, unit in zip(connectors, units[1:]):
        if not (connector == "or" and kept_units[-1].column_value):
            kept_connectors.append(connector)
            kept_units.append(unit)
    return ConditionList(tuple(kept_units), tuple(kept_connectors))


def _join_conditions(joins: list[exp.Join]) -> ConditionList:
    # parse_from appends each ON's conditions to one list, joined by 'and'.
    ons = [join.args["on"] for join in joins if join.args.get("on") is not None]
    return condition_list(exp.and_(*ons)) if ons else ConditionList()


def _clause(select: exp.Select, key: str) -> exp.Expression | None:
    clause = select.args.get(key)
    return clause.this if clause is not None else None


@dataclass(frozen=True)
class TopLevel:
    """The parts of the top-level SELECT that hardness reads."""

    select: exp.Select
    set_operation: bool
    from_conditions: ConditionList
    where: ConditionList
    having: ConditionList


def top_level(sql: str) -> TopLevel:
    root = sqlglot.parse_one(sql, dialect="sqlite")
    set_operation = isinstance(root, exp.SetOperation)
    node = root
    while isinstance(node, (exp.SetOperation, exp.Subquery)):  # official parse keeps the leftmost SELECT on top
        node = node.this
    if not isinstance(node, exp.Select):
        raise ValueError("not a SELECT query")
    return TopLevel(
        select=node,
        set_operation=set_operation,
        from_conditions=_join_conditions(node.args.get("joins") or []),
        where=condition_list(_clause(node, "where")),
        having=condition_list(_clause(node, "having")),
    )


def _all_conditions(top: TopLevel) -> tuple[list[Condition], list[str]]:
    parts = (top.from_conditions, top.where, top.having)
    return [u for p in parts for u in p.units], [c for p in parts for c in p.connectors]


def _table_units(select: exp.Select) -> int:
    has_from = select.args.get("from_") is not None
    return int(has_from) + len(select.args.get("joins") or [])


def count_component1(top: TopLevel) -> int:
    select = top.select
    count = sum(select.args.get(key) is not None for key in ("limit", "order"))
    count += bool(top.where.units) + bool(select.args.get("group"))
    count += max(_table_units(select) - 1, 0)  # joins: FROM items beyond the first, subqueries included
    units, connectors = _all_conditions(top)
    count += connectors.count("or")
    count += sum(unit.is_like for unit in units)
    return count


def count_component2(top: TopLevel) -> int:
    units, _ = _all_conditions(top)
    return sum(unit.nested_values for unit in units) + int(top.set_operation)


def _order_operands(ordered: exp.Ordered) -> list[exp.Expression]:
    # An ORDER BY val_unit is col_unit1 [op col_unit2]: both operands are checked for an aggregate.
    key = ordered.this
    return [key.this, key.expression] if isinstance(key, ARITHMETIC) else [key]


def count_aggregates(top: TopLevel) -> int:
    """The official agg_count, with its reading of element 0 of conditions and connectors (see module docstring)."""
    select = top.select
    count = sum(isinstance(item.unalias(), AGGREGATES) for item in select.expressions)
    count += sum(unit.negated for unit in top.where.units)  # not_op, read as an aggregate id
    group = select.args.get("group")
    count += sum(isinstance(item, AGGREGATES) for item in group.expressions) if group else 0
    order = select.args.get("order")
    if order is not None:
        operands = [operand for ordered in order.expressions for operand in _order_operands(ordered)]
        count += sum(isinstance(operand, AGGREGATES) for operand in operands)
    count += sum(unit.negated for unit in top.having.units) + len(top.having.connectors)  # 'and'[0] != 0
    return count


def count_others(top: TopLevel) -> int:
    select = top.select
    group = select.args.get("group")
    return (
        int(count_aggregates(top) > 1)
        + int(len(select.expressions) > 1)
        + int(len(top.where.units) > 1)
        + int(group is not None and len(group.expressions) > 1)
    )


def level(component1: int, component2: int, others: int) -> str:
    """The official thresholds of Evaluator.eval_hardness."""
    if component1 <= 1 and others == 0 and component2 == 0:
        return "easy"
    if (others <= 2 and component1 <= 1 and component2 == 0) or (component1 <= 2 and others < 2 and component2 == 0):
        return "medium"
    if (
        (others > 2 and component1 <= 2 and component2 == 0)
        or (2 < component1 <= 3 and others <= 2 and component2 == 0)
        or (component1 <= 1 and others == 0 and component2 <= 1)
    ):
        return "hard"
    return "extra"


def components(sql: str) -> tuple[int, int, int]:
    top = top_level(sql)
    return count_component1(top), count_component2(top), count_others(top)


def hardness(sql: str) -> str | None:
    """Spider hardness of a gold query: "easy", "medium", "hard" or "extra"; None when it is not one SELECT that
    sqlglot can read (a parse error, another statement, nesting deeper than Python's recursion limit)."""
    try:
        return level(*components(sql))
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return None
