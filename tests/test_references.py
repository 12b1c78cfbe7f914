"""Every name that the project's code and tests read from a project module exists in it.

The opt-in tests (make test-vllm, make test-lmeval) are skipped in the regular suite, so a renamed function would
break them unseen; this reads their source as text and checks their references here, with the rest of the code.
Project modules: common and the scripts at the root, tradeoff/ and tools/; a script loaded with load_script counts.
"""

import ast
import functools
import importlib

import pytest

from conftest import PROJECT_DIR, load_script

PACKAGES = ("tradeoff", "tools")
SOURCES = sorted(path for folder in ("", *PACKAGES, "tests") for path in (PROJECT_DIR / folder).glob("*.py"))


def project_module(name):
    """The module a dotted name is, if it is one of the project's (a root file or a file of a package), else None."""
    *package, stem = name.split(".")
    folder = PROJECT_DIR.joinpath(*package)
    return name if package in ([], *([p] for p in PACKAGES)) and (folder / f"{stem}.py").is_file() else None


def module_references(path):
    """(line, module, name) for each name a source reads from a project module: `from m import name`, and
    `alias.name` where alias is `import m`, `from package import m` or `alias = load_script("file.py")`, unless a
    local variable of the same name hides it (a function with an argument called `files`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases, references = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name: a.name for a in node.names if project_module(a.name) and "." not in a.name}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = project_module(f"{node.module}.{alias.name}")
                if submodule:
                    aliases[alias.asname or alias.name] = submodule
                elif project_module(node.module) or node.module in PACKAGES:
                    references.append((node.lineno, node.module, alias.name))
    for node in tree.body:  # module-level load_script("0_preparando_dados.py")
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "load_script"
            and isinstance(node.value.args[0], ast.Constant)
        ):
            aliases |= {target.id: node.value.args[0].value for target in node.targets if isinstance(target, ast.Name)}

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

    return sorted(references + list(visit(tree, frozenset())))


@functools.cache
def resolve(module):
    return load_script(module) if module.endswith(".py") else importlib.import_module(module)


def test_the_check_sees_a_missing_name(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "import common\nfrom tradeoff import files as f, PipelineError\nfrom tradeoff.files import no_such_function\n"
        "common.SEED\nf.read_records\ncommon.no_such_name\nprepare = load_script('0_preparando_dados.py')\n"
        "prepare.main\nimport json\njson.nothing\n"
        "def g(f):\n    return f.append\n"  # a local variable, not the module
    )
    assert module_references(source) == [
        (2, "tradeoff", "PipelineError"),
        (3, "tradeoff.files", "no_such_function"),
        (4, "common", "SEED"),
        (5, "tradeoff.files", "read_records"),
        (6, "common", "no_such_name"),
        (8, "0_preparando_dados.py", "main"),
    ]
    assert not hasattr(resolve("common"), "no_such_name")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_every_module_attribute_read_exists(path):
    missing = [
        f"{path.name}:{line}: {module}.{name}"
        for line, module, name in module_references(path)
        if not hasattr(resolve(module), name)
    ]
    assert not missing, missing
