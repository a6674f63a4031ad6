"""The architecture holds: no import cycles, node code is standard library only, modules stay small,
and the front end's models mirror every word of the vocabulary."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from raiden_lab import vocabulary

PACKAGE = Path(__file__).resolve().parent.parent / "raiden_lab"
MODELS_TS = PACKAGE.parent / "extension" / "src" / "models.ts"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of raiden_lab and the raiden_lab modules it imports: at top level, inside functions, and
    under ``if TYPE_CHECKING:`` too (a circle of types is a circle of the design)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                submodules = {f"{base}.{a.name}" for a in node.names} & set(modules)
                found |= submodules
                if len(submodules) < len(node.names):  # names defined in ``base`` itself
                    found.add(base)
        graph[name] = {m for m in found if m in modules and m != name}
    # The package itself is the public facade (``raiden_lab.connect``, ``jit``, ...): it imports lazily,
    # on first use of a name, never at import time; what it reaches is not a cycle of the layers.
    graph["raiden_lab"] = set()
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_module_of_raiden_lab_imports_itself_back() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "raiden_lab.daemon.supervisor" in graph
    assert _cycles(graph) == []


FRONT_DOORS = ("cli", "server", "notebook", "workshop")


def test_the_front_doors_do_not_import_each_other() -> None:
    """The CLI, the server, the notebook layer and the workshop each reach a cluster through
    ``operations`` (``operations.clusters`` the one front door, ``operations.lessons`` the lessons'
    files); none imports another. The workshop, like a lesson, uses only the public ``raiden_lab`` API
    (``raiden_lab.connect``, ``raiden_lab.jit``), whose lazy names are not import edges."""
    graph = import_graph()

    def door(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[1] in FRONT_DOORS else None

    crossings = {f"{m} -> {d}" for m, deps in graph.items() for d in deps if door(m) and door(d) and door(m) != door(d)}
    assert crossings == set()


def test_no_two_modules_share_a_file_name() -> None:
    """A file's name says what it is: ``control.py`` in one package and ``control.py`` in another would
    make every reader ask which one (``__init__`` and ``__main__`` aside)."""
    names: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.stem not in ("__init__", "__main__") and "labextension" not in path.parts:
            names.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    assert {n: where for n, where in names.items() if len(where) > 1} == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_node_code_imports_only_the_standard_library_and_itself() -> None:
    """What runs on a node (sent as source, or as an engine's first step) must not drag the head in."""
    allowed = set(sys.stdlib_module_names) | {"psutil", "numba"}  # psutil: the agent; numba: the jit runtime
    for path in (PACKAGE / "node").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1, f"{path.name}: imports from outside raiden_lab/node ({ast.unparse(node)})"
            for name in names:
                top = name.split(".")[0]
                # the probe asks which raiden_lab the node has (a copy from `provision` has no metadata)
                probing = path.name == "probe.py" and name == "raiden_lab"
                assert top in allowed or name.startswith("raiden_lab.node") or probing, f"{path.name} imports {name}"


def private_reach_ins() -> list[str]:
    """Where a module of raiden_lab uses another module's private (single-underscore) name."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        imported: set[str] = set()  # local names bound to what raiden_lab modules define
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                if not source.startswith("raiden_lab"):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{name}: from {source} import {alias.name}")
                    imported.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("raiden_lab")}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_reaches_into_another_modules_private_names() -> None:
    """A name that starts with one underscore is its module's own: another module that needs it needs a
    public one (ruff's SLF001 sees only attributes, and only on objects)."""
    assert private_reach_ins() == []


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def _ts_words(const: str) -> list[str]:
    match = re.search(rf"export const {const} = \[(.*?)\] as const;", MODELS_TS.read_text(), re.S)
    assert match, f"models.ts has no {const}"
    return re.findall(r"'([^']+)'", match.group(1))


def test_models_ts_mirrors_every_state_and_event_kind() -> None:
    assert _ts_words("CLUSTER_STATES") == [s.value for s in vocabulary.ClusterState]
    assert _ts_words("NODE_STATES") == [s.value for s in vocabulary.NodeState]
    assert _ts_words("ENGINE_STATES") == [s.value for s in vocabulary.EngineState]
    assert _ts_words("EVENT_KINDS") == [e.value for e in vocabulary.Event]
    assert _ts_words("TEMPERATURE_BANDS") == ["unknown", "fine", "warm", "hot"]
    throttled = re.search(r"export interface IThrottled \{(.*?)\}", MODELS_TS.read_text(), re.S)
    assert throttled and re.findall(r"^  (\w+):", throttled.group(1), re.M) == ["raw", *vocabulary.THROTTLE_FLAGS]


def test_every_event_the_code_records_is_in_the_vocabulary() -> None:
    """No bare event strings: each ``add_event``/``event`` call names an ``Event``."""
    for path in PACKAGE.rglob("*.py"):
        for call in re.findall(r"(?<!def )\b(?:add_event|event)\(\s*([^,]+),", path.read_text()):
            assert call.startswith(("Event.", "kind")), f"{path.relative_to(PACKAGE)}: event {call}"


def test_temperature_bands_and_throttling_words() -> None:
    assert [vocabulary.temperature_band(t) for t in (None, 52, 59.9, 60, 74.9, 75)] == [
        "unknown",
        "fine",
        "fine",
        "warm",
        "warm",
        "hot",
    ]
    assert vocabulary.throttling_now(None) is None
    assert vocabulary.throttling_now({"under_voltage": True, "throttled": True, "freq_capped": False}) == [
        "under voltage",
        "throttled",
    ]


ARCHITECTURE_MD = PACKAGE.parent / "docs" / "architecture.md"


def _names_a_real_thing(dotted: str) -> bool:
    """``raiden_lab.a.b`` is a module or package, or ``raiden_lab.a.NAME`` a name that module defines."""
    parts = dotted.split(".")
    for cut in (len(parts), len(parts) - 1):
        base = PACKAGE.parent.joinpath(*parts[:cut])
        source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if source.exists():
            rest = parts[cut:]
            return not rest or re.search(rf"\b{rest[0]}\b", source.read_text()) is not None
    return False


def test_the_architecture_page_is_true_to_the_tree() -> None:
    """Every module the map names exists, and every package of raiden_lab is on it: a map that names a
    file that moved, or leaves a package out, sends a new developer to the wrong place."""
    text = ARCHITECTURE_MD.read_text()
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    files = re.findall(r"(?<![\w./-])([\w/]+/\w+\.py)\b", text)
    missing = sorted({f for f in files if not ((PACKAGE / f).exists() or (PACKAGE.parent / f).exists())})
    missing += sorted({d for d in re.findall(r"\b(raiden_lab(?:\.\w+)+)", text) if not _names_a_real_thing(d)})
    assert missing == []
    undescribed = sorted(p for p in packages if f"{p}/" not in text)
    assert undescribed == []
    assert "ARCHITECTURE.md" not in text


def test_the_architecture_check_finds_a_stale_name() -> None:
    assert _names_a_real_thing("raiden_lab.daemon.supervisor")
    assert _names_a_real_thing("raiden_lab.connect")
    assert not _names_a_real_thing("raiden_lab.head.supervisor")
    assert not _names_a_real_thing("raiden_lab.daemon.supervisor.no_such_thing")
