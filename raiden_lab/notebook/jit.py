"""``@raiden_lab.jit``: numba functions that compile on every engine, for that engine's CPU.

Compiled code belongs to one CPU, so what travels to an engine is the
function's source (and that of every ``raiden_lab.jit`` function it calls),
never machine code; ``raiden_lab/node/jitruntime.py`` compiles it there, into
the node's own cache.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RaidenError
from ..node.jitruntime import cache_dir, compile_here, materialize

NJIT_OPTIONS = {"cache", "parallel", "fastmath", "nogil", "boundscheck", "error_model", "inline", "looplift"}
NUMBA_LIBRARIES = {"numpy", "math", "cmath", "random", "operator", "numba"}
_CONSTANT_TYPES = (int, float, complex, bool, str, bytes, type(None))


class JitError(RaidenError):
    """A function that cannot be sent or compiled; the message names it and the reason."""


def jit(fn: Callable | str | list | None = None, /, *signatures: Any, **options: Any):
    """Mark a function to be compiled with numba on every engine (and here, when called here).

    Bare (``@jit``), with numba's njit options (``@jit(parallel=True)``; ``cache``
    is on unless turned off) or with explicit signatures (``@jit("f8(f8)")``).
    """
    unknown = set(options) - NJIT_OPTIONS
    if unknown:
        raise JitError(
            f"raiden_lab.jit: unknown option {', '.join(sorted(unknown))}; use {', '.join(sorted(NJIT_OPTIONS))}"
        )
    if callable(fn) and not isinstance(fn, JitFunction):
        return JitFunction(fn, options, [str(s) for s in signatures])
    sigs = [str(s) for s in ((fn,) if fn is not None else ()) + signatures]
    flat = [str(s) for sig in sigs for s in (sig if isinstance(sig, (list, tuple)) else [sig])]
    return lambda f: JitFunction(f, options, flat)


class JitFunction:
    """A function with its source, ready to compile wherever it is called."""

    def __init__(
        self, fn: Callable | None, options: dict[str, Any], signatures: list[str], spec: dict[str, Any] | None = None
    ) -> None:
        self.py_func = fn
        self.options = {"cache": True, **options}
        self.signatures = signatures
        self._spec = spec
        self._dispatcher: Any = None
        if fn is not None:
            functools.update_wrapper(self, fn)
        else:
            self.__name__ = spec["name"] if spec else "jit"

    @property
    def spec(self) -> dict[str, Any]:
        """Everything an engine needs to compile this function (source, never machine code)."""
        if self._spec is None:
            self._spec = _build_spec(self)
        return self._spec

    @property
    def key(self) -> str:
        return self.spec["key"]

    def compiled(self, folder: Path | None = None) -> Any:
        """The numba dispatcher, compiled (or loaded from the cache) on first use in this process."""
        if self._dispatcher is None:
            self._dispatcher = materialize(self.spec, folder or cache_dir())
        return self._dispatcher

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled()(*args, **kwargs)

    def __reduce__(self) -> tuple:
        return (_from_spec, (self.spec,))

    def __repr__(self) -> str:
        return f"<raiden_lab.jit function {self.__name__} [{self.key[:8]}]>"


def _from_spec(spec: dict[str, Any]) -> JitFunction:
    return JitFunction(None, spec["options"], spec["signatures"], spec=spec)


def _build_spec(jf: JitFunction) -> dict[str, Any]:
    fn = jf.py_func
    assert fn is not None
    name = fn.__name__
    if fn.__closure__:
        raise JitError(
            f"{name}: uses variables of an enclosing function; numba on the engines cannot see them. "
            f"Pass them as arguments or make them module-level constants"
        )
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise JitError(
            f"{name}: its source cannot be found ({e}); define it in a notebook cell or a module file"
        ) from None
    tree = ast.parse(source)
    func = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if func is None or func.name != name:
        raise JitError(f"{name}: raiden_lab.jit takes a function defined with def, not a lambda")
    func.decorator_list = []
    body = ast.unparse(func)
    header, deps = _globals_header(fn, _free_names(func))
    opts = ", ".join(f"{k}={v!r}" for k, v in sorted(jf.options.items()))
    decorator = f"@numba.njit({jf.signatures!r}, {opts})" if jf.signatures else f"@numba.njit({opts})"
    import numba

    text = "\n".join(["import numba", *header, "", "", decorator, body, ""])
    key = hashlib.sha256(f"{numba.__version__}\n{sys.version_info[:2]}\n{text}".encode()).hexdigest()[:24]
    module = f"raiden_jit_{name}_{key}"
    return {
        "name": name,
        "module": module,
        "key": key,
        "text": text,
        "deps": deps,
        "options": jf.options,
        "signatures": jf.signatures,
    }


def _free_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function reads but never binds: its globals (and builtins)."""
    loaded, bound = set(), {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
    for node in ast.walk(func):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return loaded - bound - {func.name}


def _globals_header(fn: Callable, names: set[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Import lines, constants and jit dependencies for the globals ``fn`` uses."""
    lines: list[str] = []
    deps: list[dict[str, Any]] = []
    g = fn.__globals__
    for name in sorted(names):
        if name not in g:
            if hasattr(builtins, name):
                continue
            raise JitError(f"{fn.__name__}: uses {name}, which is not defined; define it before decorating")
        value = g[name]
        if isinstance(value, JitFunction):
            deps.append(value.spec)
            lines.append(f"from {value.spec['module']} import {value.spec['name']} as {name}")
        elif isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__} as {name}")
        elif isinstance(value, _CONSTANT_TYPES) or _is_constant_tuple(value):
            lines.append(f"{name} = {value!r}")
        elif _importable(value) and not _user_function(value):
            lines.append(f"from {value.__module__} import {value.__name__} as {name}")
        elif callable(value):
            raise JitError(
                f"{fn.__name__}: calls {name}, which is not a raiden_lab.jit function; "
                f"decorate {name} with @raiden_lab.jit so the engines get it too"
            )
        else:
            raise JitError(
                f"{fn.__name__}: uses the global {name} ({type(value).__name__}); only modules, "
                f"numbers, strings and other raiden_lab.jit functions travel; pass it as an argument"
            )
    return lines, deps


def _user_function(value: Any) -> bool:
    """A plain Python function numba cannot compile (library functions numba knows are fine)."""
    if isinstance(value, types.FunctionType):
        return value.__module__.split(".")[0] not in NUMBA_LIBRARIES
    return False


def _is_constant_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, _CONSTANT_TYPES) or _is_constant_tuple(v) for v in value)


def _importable(value: Any) -> bool:
    """A library function (``from math import sqrt``) that the engine can import by name."""
    module, name = getattr(value, "__module__", None), getattr(value, "__name__", None)
    if not module or not name or module == "__main__" or isinstance(value, JitFunction):
        return False
    try:
        return getattr(importlib.import_module(module), name) is value
    except (ImportError, AttributeError):
        return False


class WarmupTable(list):
    """One row (a dict) per engine; shows as a table in notebooks and terminals."""

    COLUMNS = ("engine", "node", "arch", "seconds", "cache_hit")
    function: str | None = None
    signatures: tuple[str, ...] = ()

    def _cells(self, row: dict[str, Any]) -> list[str]:
        return [f"{row[c]:.3f}" if c == "seconds" else str(row[c]) for c in self.COLUMNS]

    def __str__(self) -> str:
        rows = [list(self.COLUMNS)] + [self._cells(r) for r in self]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.COLUMNS))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in self._cells(r)) + "</tr>" for r in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def warmup(client: Any, fn: JitFunction, *signatures: str) -> WarmupTable:
    if not isinstance(fn, JitFunction):
        raise JitError(f"{getattr(fn, '__name__', fn)!s}: warmup takes a @raiden_lab.jit function")
    sigs = [str(s) for s in signatures] or list(fn.signatures)
    if not sigs:
        raise JitError(
            f"{fn.__name__}: warmup needs the argument types, e.g. cluster.warmup({fn.__name__}, 'float64(float64[:])')"
        )
    view = client[:]
    ids = list(view.targets) if isinstance(view.targets, list) else list(client.ids)
    rows = view.apply_sync(compile_here, fn.spec, sigs)
    failures: dict[str, list[str]] = {}
    for row in rows:
        if row["error"]:
            failures.setdefault(row["error"], [])
            if row["node"] not in failures[row["error"]]:
                failures[row["error"]].append(row["node"])
    if failures:
        message, nodes = next(iter(failures.items()))
        raise JitError(f"{fn.__name__}: numba could not compile it on {', '.join(nodes)}:\n{message}")
    table = WarmupTable(
        {"engine": i, **{k: r[k] for k in WarmupTable.COLUMNS if k != "engine"}} for i, r in zip(ids, rows, strict=True)
    )
    table.function, table.signatures = fn.__name__, tuple(sigs)  # what was compiled, for a check to read
    return table


class _CallableModule(types.ModuleType):
    """Lets ``@raiden_lab.jit`` be the decorator while ``raiden_lab/jit.py`` is its module."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return jit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
