"""Every `module.name` that the project's code and tests read from a project module exists in it.

The opt-in tests (make test-vllm, make test-lmeval) are skipped in the regular suite, so a renamed function would
break them unseen; this reads their source as text and checks their references here, with the rest of the code.
"""

import ast
import importlib

import pytest

import common

PROJECT_MODULES = {path.stem for path in common.PROJECT_DIR.glob("*.py") if path.stem.isidentifier()}
SOURCES = sorted(common.PROJECT_DIR.glob("*.py")) + sorted((common.PROJECT_DIR / "tests").glob("*.py"))


def module_references(path):
    """(line, module, name) for each `module.name` read, where `import module` names a project module and no local
    variable of the same name hides it (report.py's functions have a `records` list of their own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name in PROJECT_MODULES
    }

    def visit(node, hidden):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                arguments = child.args.posonlyargs + child.args.args + child.args.kwonlyargs
                arguments += [child.args.vararg, child.args.kwarg]
                local = {argument.arg for argument in arguments if argument}
                local |= {n.id for n in ast.walk(child) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                yield from visit(child, hidden | local)
                continue
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.ctx, ast.Load)
                and isinstance(child.value, ast.Name)
                and child.value.id in aliases
                and child.value.id not in hidden
            ):
                yield child.lineno, aliases[child.value.id], child.attr
            yield from visit(child, hidden)

    return sorted(visit(tree, frozenset()))


def test_the_check_sees_a_missing_name(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "import common\nimport records as r\ncommon.SEED\nr.read_jsonl_records\ncommon.no_such_name\n"
        "import records\ndef f(records):\n    return records.append\n"  # a local variable, not the module
    )
    assert module_references(source) == [
        (3, "common", "SEED"),
        (4, "records", "read_jsonl_records"),
        (5, "common", "no_such_name"),
    ]
    assert not hasattr(common, "no_such_name")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(common.PROJECT_DIR)))
def test_every_module_attribute_read_exists(path):
    missing = [
        f"{path.name}:{line}: {module}.{name}"
        for line, module, name in module_references(path)
        if not hasattr(importlib.import_module(module), name)
    ]
    assert not missing, missing
