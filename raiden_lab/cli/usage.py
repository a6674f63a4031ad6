"""The ``raiden`` command's reference, made from its parser: ``python -m raiden_lab.cli.usage docs/cli.md``.

``docs/cli.md``'s ``<!-- cli -->`` block is what this prints; ``tests/test_docs.py`` fails when the two
differ, so a flag added, renamed or re-explained in the parser is in the docs at once.
"""

from __future__ import annotations

import argparse
import re

from ..generated import fill, rewrite
from . import command_parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        shown = action.metavar or action.dest.upper()
        if action.choices:
            shown = "|".join(map(str, action.choices))
        return f"`{shown}`" + (" (optional)" if action.nargs in ("?", "*") else "")
    names = ", ".join(action.option_strings)
    if action.nargs != 0:
        names += f" {action.metavar or action.dest.upper()}"
    return f"`{names}`"


def reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Every subcommand: what it does, its usage line, and a table of its arguments."""
    parser = parser or command_parser()
    out = [f"`raiden` {_cell(parser.description)}", "", _cell(parser.epilog), ""]
    for name, sub in _subcommands(parser).items():
        usage = re.sub(r"\s+", " ", sub.format_usage().removeprefix("usage: ").strip())
        what = _cell(sub.description).rstrip(".")
        out += [f"## raiden {name}", "", f"{what[:1].upper()}{what[1:]}.", "", "```", usage, "```", ""]
        rows = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
        if rows:
            out += ["| argument | meaning |", "| --- | --- |"]
            out += [f"| {_argument(a)} | {_cell(a.help)} |" for a in rows]
            out.append("")
    return "\n".join(out)


def render(text: str) -> str:
    return fill(text, "cli", lambda _: reference())


if __name__ == "__main__":
    raise SystemExit(rewrite(render, "the command's reference"))
