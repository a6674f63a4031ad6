"""Every setting of ``raiden.toml`` declared once: its name, type, default, help and check.

A table (``[cluster]``, ``[[nodes]]``, ``[class]``, a launcher's ``[NAME]``) is a ``Table`` of
``Setting``s, declared beside the code that uses it: ``config/inventory.py`` (cluster and nodes),
``config/power.py`` (the hooks), ``classroom/settings.py`` (``[class]``), each launcher's module
(``MPILauncher.settings = Table(...)``), as a JupyterHub spawner declares its traits. From the
declarations come the inventory's checks (``Table.check``: type, then the setting's own check, each
error ``PATH:LINE: sentence`` with "did you mean" for an unknown key), and the tables of
``docs/inventory.md`` (``python -m raiden_lab.config.tables docs/inventory.md`` writes them; a test
fails when they drift; ``config/docs.py`` gathers them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..generated import fill
from .syntax import toml_type, unknown_key

Check = Callable[[Any], "str | None"]  # the sentence that says what is wrong, or None


@dataclass(frozen=True)
class Kind:
    """What TOML value a setting takes: its Python types and how an error names them."""

    types: tuple[type, ...]
    what: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and (bool in self.types or not isinstance(value, bool))


STRING = Kind((str,), "a string")
INTEGER = Kind((int,), "an integer")
BOOLEAN = Kind((bool,), "true or false")
STRINGS = Kind((list,), "a list of strings")
TABLE = Kind((dict,), "a table")
TABLES = Kind((list,), "an array of tables")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    help: str  # what it means, for the docs' table (Markdown)
    default: str = "none"  # what applies when it is not written, as the docs say it (Markdown)
    check: Check | None = None  # after the type: the sentence when the value is wrong


@dataclass(frozen=True)
class Table:
    """The settings of one TOML table, in the order the docs list them."""

    name: str  # cluster, nodes, class, or a launcher's name
    settings: tuple[Setting, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.settings]
        if len(names) != len(set(names)):
            raise ValueError(f"[{self.name}] declares a setting twice: {names}")

    def __iter__(self) -> Any:
        return iter(self.settings)

    def __contains__(self, name: object) -> bool:
        return any(s.name == name for s in self.settings)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.settings]

    def get(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)

    def plus(self, name: str, *more: Iterable[Setting]) -> Table:
        """This table's settings and ``more`` (another table's, e.g. the node defaults of ``[cluster]``)."""
        return Table(name, self.settings + tuple(s for group in more for s in group))

    def check(self, data: dict[str, Any], fail: Callable[[str, str], None], label: str | None = None) -> None:
        """Each key known, of its kind, and right by its own check; ``fail(key, sentence)`` raises."""
        for key, value in data.items():
            if key not in self:
                fail(key, unknown_key(label if label is not None else self.name, key, value, self.names))
            setting = self.get(key)
            if not setting.kind.accepts(value):
                fail(key, f"'{key}' must be {setting.kind.what}, not {toml_type(value)} ({value!r})")
            if setting.check is not None and (problem := setting.check(value)):
                fail(key, problem)

    def markdown(self) -> str:
        """The docs' table of this TOML table: key, meaning, default."""
        rows = ["| key | meaning | default |", "| --- | --- | --- |"]
        rows += [f"| `{s.name}` | {s.help} | {s.default} |" for s in self.settings]
        return "\n".join(rows) + "\n"


def render_docs(text: str, tables: dict[str, Table]) -> str:
    """``text`` with every ``<!-- settings:NAME -->`` ... ``<!-- /settings -->`` block made from its table."""

    def table(name: str | None) -> str:
        if name not in tables:
            raise KeyError(f"no settings table named {name!r}; the tables are {', '.join(tables)}")
        return tables[name].markdown()

    return fill(text, "settings", table)


class _Said(Exception):
    pass


def sentence_of(check: Callable[[Any, Callable[[str], None]], Any]) -> Check:
    """A check written as ``check(value, fail)`` (``fail(sentence)`` raises) as a ``Check``."""

    def sentence(value: Any) -> str | None:
        def fail(what: str) -> None:
            raise _Said(what)

        try:
            check(value, fail)
        except _Said as said:
            return str(said)
        return None

    return sentence
