"""The layout rules of docs/architecture.md, checked on the source: module size, no import cycle, the
server apart from the client."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The aigate modules ``name`` imports anywhere in its body (lazy imports count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in out if m in MODULES and m != name and not name.startswith(m + ".")} - {"aigate"}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_no_module_in_src_is_over_400_lines():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_import_cycle():
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_server_imports_nothing_of_the_client_but_the_shared_modules():
    shared = {"aigate.protocol", "aigate.protocol_sso", "aigate.constants", "aigate.errors", "aigate.installer",
              "aigate.cli_style"}
    wrong = {name: sorted(d for d in deps if not d.startswith("aigate.server") and d not in shared)
             for name, deps in GRAPH.items() if name.startswith("aigate.server")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_client_never_imports_the_server():
    wrong = {name: sorted(d for d in deps if d.startswith("aigate.server"))
             for name, deps in GRAPH.items() if not name.startswith("aigate.server")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_benchmarks_scripts_and_harness_never_import_the_tests():
    root = SRC.parent
    wrong = []
    for folder in ("benchmarks", "scripts", "harness"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text("utf-8")
            for node in ast.walk(ast.parse(text)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                wrong += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] == "tests"]
            if "from tests." in text or "tests/support" in text:  # imports run in a subprocess or by path
                wrong.append(f"{path.relative_to(root)}: mentions tests/")
    assert wrong == []
