"""The house: imports run one way (no circle, imports inside functions counted), leaves know no metric
table and no codec, every `bench` name imported anywhere exists, rooms and CLI verbs stay small."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEAVES = ("bench.images", "bench.datasets", "bench.weights", "bench.cards", "bench.errors", "bench.provenance",
          "bench.store", "bench.store_open", "bench.downloads", "bench.devices", "bench.rated", "bench.report.formats",
          "bench.ffmpeg_wheel")
# what each stage may not import (the pipeline: datasets -> adapters -> metrics -> runner -> analysis -> report
# -> study)
FORBIDDEN = {"bench.report": ("bench.study", "bench.cli"),
             "bench.runner": ("bench.report", "bench.cli", "bench.study"),
             "bench.analysis": ("bench.report", "bench.cli", "bench.runner"),
             "bench.metrics": ("bench.runner", "bench.analysis", "bench.report", "bench.cli"),
             "bench.adapters": ("bench.metrics", "bench.runner", "bench.analysis", "bench.report", "bench.cli")}


def _modules() -> dict:
    out = {}
    for p in sorted((ROOT / "bench").rglob("*.py")):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


def _imports(path: Path, module: str | None) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every import statement, in functions too."""
    out = []
    pkg = None
    if module is not None:
        pkg = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            out += [(target, a.name, node.lineno) for a in node.names]
    return out


def _graph() -> dict:
    g = {}
    for m, p in MODULES.items():
        deps = set()
        for target, name, _ in _imports(p, m):
            for cand in (f"{target}.{name}" if name else None, target):
                while cand and cand not in MODULES:
                    cand = cand.rpartition(".")[0]
                if cand and cand != m:
                    deps.add(cand)
                    break
        g[m] = deps
    return g


def _cycles(g: dict) -> list:
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_anywhere_in_bench():
    assert _cycles(_graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_leaves_know_no_metric_table_codec_or_stage():
    g = _graph()
    for leaf in LEAVES:
        bad = [d for d in g[leaf] if d.startswith(("bench.metrics", "bench.adapters", "bench.runner", "bench.analysis",
                                                    "bench.cli", "bench.models"))
               or (d.startswith("bench.report") and d != "bench.report")]
        assert not bad, f"{leaf} imports {bad}"


def test_stages_import_one_way():
    g = _graph()
    for m, deps in g.items():
        for stage, banned in FORBIDDEN.items():
            if m == stage or m.startswith(stage + "."):
                bad = [d for d in deps if d.startswith(banned)]
                assert not bad, f"{m} imports {bad}: against the pipeline's direction"


@pytest.mark.parametrize("path", sorted([*(ROOT / "bench").rglob("*.py"), *(ROOT / "scripts").glob("*.py")]),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bench_name_imported_exists(path):
    """Imports inside functions included: a dead `from bench.x import y` fails here, not at a user's."""
    module = None
    if path.is_relative_to(ROOT / "bench"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if path.name != "__main__.py":  # importing it would run the command line
            importlib.import_module(module)
    for target, name, line in _imports(path, module):
        if not target.startswith("bench"):
            continue
        mod = importlib.import_module(target)
        if name is not None and not hasattr(mod, name):
            try:
                importlib.import_module(f"{target}.{name}")  # a submodule
            except ModuleNotFoundError:
                pytest.fail(f"{path}:{line}: {target} has no {name}")


def test_modules_stay_under_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > 420}
    assert not long


def test_cli_verbs_are_thin_and_documented():
    for path in (ROOT / "bench" / "cli").glob("*.py"):
        for f in ast.walk(ast.parse(path.read_text())):
            if isinstance(f, ast.FunctionDef):
                assert f.end_lineno - f.lineno < 60, f"{path.name}:{f.name} is {f.end_lineno - f.lineno} lines"
                if f.name.startswith("cmd_"):
                    assert ast.get_docstring(f), f"{f.name} has no docstring"


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys; from bench.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'torch', 'matplotlib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


ADAPTER_INTERFACE = {"encode", "decode", "library_version", "available", "ladder", "point_key"}  # documented on Adapter


def test_public_functions_and_classes_have_docstrings():
    missing = []
    for path in MODULES.values():
        for node in ast.parse(path.read_text()).body:
            items = [(node, None)]
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                items += [(f, node) for f in node.body if isinstance(f, ast.FunctionDef)]
            for f, cls in items:
                if not isinstance(f, (ast.FunctionDef, ast.ClassDef)) or f.name.startswith("_"):
                    continue
                if cls is not None and cls.bases and f.name in ADAPTER_INTERFACE:
                    continue
                if ast.get_docstring(f) is None:
                    missing.append(f"{path.relative_to(ROOT)}:{f.lineno} {f.name}")
    assert not missing, missing
