"""What the docs may name: ``raiden_lab`` modules and names, ``raiden`` subcommands and flags, REST routes."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "raiden_lab"


def names_a_real_thing(dotted: str) -> bool:
    """``raiden_lab.a.b`` is a module or package, or ``raiden_lab.a.NAME`` a name that module defines."""
    parts = dotted.split(".")
    for cut in (len(parts), len(parts) - 1):
        base = ROOT.joinpath(*parts[:cut])
        source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if source.exists():
            rest = parts[cut:]
            return not rest or re.search(rf"\b{rest[0]}\b", source.read_text()) is not None
    # the public modules raiden_lab imports on first use (``raiden_lab.scaling`` is ``raiden_lab.notebook.scaling``)
    lazy = PACKAGE / "notebook" / f"{parts[1]}.py" if len(parts) > 1 else None
    if lazy is not None and lazy.exists() and f'"{parts[1]}"' in (PACKAGE / "__init__.py").read_text():
        return names_a_real_thing(".".join(["raiden_lab", "notebook", *parts[1:]]))
    return False


def code_of(text: str) -> list[str]:
    """The page's code: inline spans and the lines of fenced blocks."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    prose = re.sub(r"```[^\n]*\n.*?```", "", text, flags=re.S)
    lines = [re.sub(r"(^|\s)#.*$", "", line) for b in blocks for line in b.splitlines()]  # comments are prose
    return re.findall(r"`([^`\n]+)`", prose) + lines


def raiden_commands(text: str) -> list[list[str]]:
    """Every ``raiden ...`` command line the page shows, as words (up to a pipe, ``;``, ``&&`` or a comment)."""
    found = []
    for code in code_of(text):
        for m in re.finditer(r"(?:^|[\s$(])raiden\s+([a-z][^|;&#)]*)", code):
            try:
                words = shlex.split(m.group(1))
            except ValueError:
                words = m.group(1).split()
            found.append(words)
    return found


def command_problems(words: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """What is wrong with ``raiden WORDS`` against the command's parser: an unknown subcommand or flag."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    subcommands = action.choices
    if not words or words[0] not in subcommands:
        return [f"raiden {' '.join(words)}: no subcommand {words[0] if words else ''!r}"]
    sub = subcommands[words[0]]
    flags = {o for a in sub._actions for o in a.option_strings}
    problems = []
    for word in words[1:]:
        if word == "--":  # raiden lab passes the rest to JupyterLab
            break
        flag = word.split("=", 1)[0]
        if flag.startswith("-") and flag not in flags and not re.fullmatch(r"-+\.*", flag):
            problems.append(f"raiden {' '.join(words)}: {words[0]} has no {flag}")
    return problems


def routes_named(text: str) -> list[str]:
    return re.findall(r"/raiden-lab/([A-Za-z0-9_./{},?=-]*[A-Za-z0-9_}])", text)


def route_exists(shown: str, patterns: list[str]) -> bool:
    """``clusters/NAME/start`` (placeholders in capitals, ``{a,b}`` alternatives) matches a route's pattern."""
    path = shown.split("?")[0].rstrip("/")
    candidates = [path]
    if m := re.search(r"\{([a-z,]+)\}", path):
        candidates = [path.replace(m.group(0), alt) for alt in m.group(1).split(",")]
    for candidate in candidates:
        sample = re.sub(r"\b[A-Z][A-Z_]*\b", "x1", candidate).replace("x1/copy", "00-tour.ipynb/copy")
        if not any(re.fullmatch(p, sample) for p in patterns):
            return False
    return True
