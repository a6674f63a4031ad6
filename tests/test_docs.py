"""The documentation site: it builds with no warning, its quick start runs, its inventory table is complete.

`make docs` runs Sphinx with `-W`; here the same build, once as it is and once with a broken
link put in (which must fail it), then the quick start's Python blocks and the README's, run
in a real kernel against a real local cluster, as a newcomer would paste them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import journeys
import nbformat
import pytest
from docnames import command_problems, names_a_real_thing, raiden_commands, route_exists, routes_named
from nbclient import NotebookClient

from raiden_lab import workshop
from raiden_lab.config import inventory
from raiden_lab.config.docs import every_table
from raiden_lab.config.tables import Table, render_docs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_docs_build_with_no_warning_and_a_broken_link_fails_them(tmp_path) -> None:
    pytest.importorskip("sphinx", reason="the docs need sphinx (pip install -e '.[docs]')")
    built = _build(DOCS, tmp_path / "html")
    assert built.returncode == 0 and built.stderr == "", built.stderr
    pages = {p.stem for p in (tmp_path / "html").glob("*.html")}
    wanted = {"index", "quickstart", "pis", "inventory", "notebooks", "panel", "launchers", "security", "class"}
    wanted |= {"cli", "api", "troubleshooting", "glossary", "requirements", "why", "cheatsheet", "guide"}
    assert wanted | {"operations", "architecture", "contributing", "changelog"} <= pages, pages
    lessons = {p.stem for p in (tmp_path / "html" / "lessons").glob("*.html")}
    assert lessons == {x.file.removesuffix(".ipynb") for x in workshop.catalog()}, lessons
    # the check can fail: a link to a page that does not exist is a warning, so an error
    repo = tmp_path / "repo"  # the docs and what they include, with one link broken
    broken = repo / "docs"
    shutil.copytree(DOCS, broken, ignore=shutil.ignore_patterns("_build"))
    for name in ("CONTRIBUTING.md", "CHANGELOG.md", "raiden_lab/config/example.toml", "notebooks/README.md"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, repo / name)
    (broken / "pis.md").write_text((broken / "pis.md").read_text() + "\nSee [the wiring](wiring.md).\n")
    failed = _build(broken, tmp_path / "broken-html")
    warnings = [line for line in failed.stderr.splitlines() if "WARNING" in line]
    assert failed.returncode != 0 and len(warnings) == 1 and "wiring" in warnings[0], failed.stderr


def test_the_docs_tables_of_settings_are_the_declarations() -> None:
    """Each table of docs/inventory.md is generated from the settings' declarations
    (``python -m raiden_lab.config.docs docs/inventory.md``): a setting added, renamed or re-explained
    without regenerating them fails here."""
    text = (DOCS / "inventory.md").read_text()
    tables = every_table()
    assert {"cluster", "nodes", "class", "mpi", "slurm"} <= set(tables)
    assert all(f"<!-- settings:{name} -->" in text for name in ("cluster", "nodes", "class", "mpi", "slurm"))
    assert render_docs(text, tables) == text, (
        "docs/inventory.md: run `python -m raiden_lab.config.docs docs/inventory.md`"
    )
    # the check can fail: a setting's help changed in its declaration
    changed = {**tables, "mpi": Table("mpi", tuple(replace(s, help="changed") for s in tables["mpi"]))}
    assert render_docs(text, changed) != text


def test_the_example_names_only_declared_settings_and_loads() -> None:
    """``raiden init``'s example, with every commented setting written in, is a valid inventory: no key it
    shows is undeclared, and every [cluster] and [class] setting it shows is right by its own check."""
    example = (ROOT / "raiden_lab" / "config" / "example.toml").read_text()
    keys = set(re.findall(r"^#?\s*([a-z_]+)\s*=", example, re.M))
    declared = {s.name for table in every_table().values() for s in table}
    assert keys and keys <= declared, sorted(keys - declared)
    assert inventory.parse(example, ROOT / "raiden.toml").nodes


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_the_quick_start_runs_as_written(raiden, monkeypatch) -> None:
    """Every Python block of the quick start and the README, in order, in one real kernel, on a local cluster."""
    blocks = _python_blocks(DOCS / "quickstart.md") + _python_blocks(ROOT / "README.md")
    assert len(blocks) >= 4, blocks
    assert raiden("up").code == 0
    try:
        monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b) for b in blocks])
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(raiden.cwd)}}
        ).execute()
        out = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
        assert "<RaidenCluster 'local':" in out and "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out, out
    finally:
        raiden("down")


def test_where_next_runs_the_same_darts_with_dask_on_the_same_engines(raiden, monkeypatch) -> None:
    """The closing page's block, in a real kernel: Raiden's map, then dask through become_dask, one answer."""
    blocks = _python_blocks(DOCS / "where-next.md")
    assert len(blocks) == 1, blocks
    assert raiden("up").code == 0
    try:
        monkeypatch.setenv("RAIDEN_HOME", str(raiden.home))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(blocks[0])])
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(raiden.cwd)}}
        ).execute()
        out = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
        engines = len(raiden("status", "--json").json()["nodes"][0]["engines"])
        assert f"dask workers: {engines}; pi with Raiden's map 3.14" in out, out
        assert "the same darts, the same answer: True" in out, out
    finally:
        raiden("down")


PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "notebooks" / "README.md"]


def test_the_docs_name_only_what_exists() -> None:
    """Every ``raiden_lab.*`` name, ``raiden`` subcommand and flag, and REST route the pages name exists: a
    rename in the code that leaves a page behind fails here (the changelog tells history and is left out)."""
    from raiden_lab.cli import command_parser
    from raiden_lab.server.handlers import ROUTES

    parser, patterns = command_parser(), [re.sub(r"\(\?P<\w+>", "(", p) for p, _ in ROUTES]
    problems = []
    for page in PAGES:
        if page.name == "changelog.md":
            continue
        text, where = page.read_text(), page.relative_to(ROOT)
        problems += [f"{where}: {n}" for n in re.findall(r"\braiden_lab(?:\.\w+)+", text) if not names_a_real_thing(n)]
        for words in raiden_commands(text):
            problems += [f"{where}: {p}" for p in command_problems(words, parser)]
        problems += [f"{where}: /raiden-lab/{r}" for r in routes_named(text) if not route_exists(r, patterns)]
    assert problems == []


def test_the_checker_of_names_finds_what_does_not_exist() -> None:
    from raiden_lab.cli import command_parser
    from raiden_lab.server.handlers import ROUTES

    patterns = [re.sub(r"\(\?P<\w+>", "(", p) for p, _ in ROUTES]
    assert not names_a_real_thing("raiden_lab.agent") and names_a_real_thing("raiden_lab.node.agent")
    assert command_problems(["up", "--timeout", "9"], command_parser()) == []
    assert command_problems(["start"], command_parser()) and command_problems(["up", "--fast"], command_parser())
    assert route_exists("clusters/NAME/nodes/HOST/power/{on,off}", patterns)
    assert not route_exists("clusters/NAME/reboot", patterns)


def test_the_command_and_route_references_are_generated() -> None:
    """docs/cli.md is the parser's reference and docs/panel.md's table the server's routes."""
    from raiden_lab.cli.usage import render
    from raiden_lab.server.handlers import render_routes

    cli, panel = (DOCS / "cli.md").read_text(), (DOCS / "panel.md").read_text()
    assert "<!-- cli -->" in cli and render(cli) == cli, "run `python -m raiden_lab.cli.usage docs/cli.md`"
    assert "<!-- routes -->" in panel and render_routes(panel) == panel, (
        "run `python -m raiden_lab.server.handlers docs/panel.md`"
    )


def said_by_the_code(message: str, source: str) -> bool:
    """``message`` (placeholders in capitals, ``...`` for a value) is in ``source``, an f-string's fields
    and its line breaks between the parts."""
    parts = re.split(r"\b(?:HOST|USER|NAME|N)\b|\.\.\.", message)
    joined = r"(?:[^\n]|\n\s*f?[\"']){0,80}?".join(
        re.escape(p).replace("\\ ", r"(?:\s|[\"']\s*f?[\"'])+") for p in parts
    )
    return re.search(joined, source) is not None


def test_the_troubleshooting_table_quotes_what_the_code_says() -> None:
    """Each message of docs/troubleshooting.md is a sentence the code still says; a reworded or removed one
    fails here."""
    source = "\n".join(p.read_text() for p in (ROOT / "raiden_lab").rglob("*.py"))
    rows = [line for line in (DOCS / "troubleshooting.md").read_text().splitlines() if line.startswith("| `")]
    assert len(rows) >= 12
    messages = [re.match(r"\| `(.*?)` \|", r.replace("\\`", "\x00")).group(1).replace("\x00", "`") for r in rows]
    assert [m for m in messages if not said_by_the_code(m, source)] == []
    assert not said_by_the_code("HOST: the SSH key was rejected; check user", source)


def test_each_lessons_page_is_its_lesson_as_it_ran() -> None:
    """docs/lessons/NN-name.md holds its lesson's text and code (solutions loaded) in order, with the
    outputs of a run; a lesson edited without its page made again fails here."""
    sys.path.insert(0, str(DOCS))
    from fromtests import code_blocks, lesson_code

    stale = []
    for lesson in workshop.catalog():
        notebook = ROOT / "notebooks" / lesson.file.removesuffix(".ipynb") / lesson.file
        page = DOCS / "lessons" / lesson.file.replace(".ipynb", ".md")
        if not page.exists() or code_blocks(page) != lesson_code(notebook):
            stale.append(page.name)
            continue
        text = page.read_text()
        prose = [c.source.strip() for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"]
        stale += [f"{page.name}: {p[:40]!r}" for p in prose if p not in text]
        assert "```text" in text, f"{page.name} shows no output: was it made from a lesson that ran?"
    assert stale == [], "run the lesson tests, then `make site-from-tests`"


def test_the_pages_screenshots_are_the_browser_tests_own() -> None:
    """Every screenshot a page shows is one a test takes (``_output("NAME.png")``), and is in the site."""
    sys.path.insert(0, str(DOCS))
    from fromtests import screens_shown

    shown = screens_shown(DOCS) | screens_shown(ROOT / "notebooks")
    taken = [
        n for p in (ROOT / "tests").glob("*.py") for n in re.findall(r"_output\(f?[\"']([\w{}.-]+\.png)", p.read_text())
    ]
    patterns = [re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(n))) for n in taken]
    assert len(shown) >= 6 and not [n for n in shown if not any(p.fullmatch(n) for p in patterns)], (shown, taken)
    folder = DOCS / "_static" / "screens"
    assert {p.name for p in folder.glob("*.png")} == shown, "run `make site-from-tests` (after the browser tests)"


def test_every_benchmark_is_described() -> None:
    text = (DOCS / "benchmarks.md").read_text()
    scripts = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py"))
    assert len(scripts) >= 13 and [s for s in scripts if f"`{s}`" not in text] == []


def test_the_laptop_journey_runs_as_the_quick_start_shows_it(raiden) -> None:
    """The quick start's commands, at a terminal as a reader types them, show what the page shows;
    then its notebook cells, as one script. `make lab` itself is test_lab's: here `raiden up` stands in."""
    steps = journeys.journey(DOCS / "quickstart.md", "laptop")
    assert [s.text for s in steps if s.kind == "command"] == [
        "source .venv/bin/activate", "raiden status", "raiden down", "raiden up"
    ] and steps[-1].kind == "python"  # fmt: skip
    cores = len(os.sched_getaffinity(0))
    if cores != 2:  # the page shows a 2-core laptop (CI's machine); elsewhere the counts differ
        for step in steps:
            step.expected = [re.sub(r"\b2/2\b|\b2 engines\b|localhost: 2|1:idle", "...", e) for e in step.expected]
    assert raiden("up").code == 0  # what `make lab` started
    try:
        journeys.run(steps, raiden.cwd, raiden.env, replace={".venv/": f"{sys.prefix}/"}, timeout=300)
    finally:
        raiden("down")
