"""The journeys the pages of the docs describe, read from the pages and run as written.

A page marks a journey with an HTML comment (invisible in the site) before each block that
belongs to it, in the order a reader meets them::

    <!-- journey: box-of-pis -->
    ```console
    $ raiden add 10.0.0.11 --wheelhouse wheels
    [1/4] the cluster's key: ...
    ```

``<!-- journey: NAME as: ROLE -->`` marks a block that someone else runs (``as: student``: every student
of the class, each as their own Unix user); the test says who plays each role.
``<!-- journey: NAME file: PATH -->`` (or ``append: PATH``) before a block of any language: the reader
saves it as ``PATH`` in the journey's folder (or adds it to the end of ``PATH``).

In a ``console`` block a line that starts with ``$ `` is a command (a trailing ``\\`` continues
it); the lines after it, up to the next command, are what the terminal shows. ``...`` alone on a
line stands for any number of lines, and inside a line for any text; runs of spaces compare as
one (a table's columns widen with its values). A command the page shows
no output for is run, and only its exit status is checked. A command whose remark says
``# leave it running`` (a server) runs on beside the journey, as in a second terminal: the journey goes
on once the lines the page shows for it appeared, and ends it at the end. ``python`` blocks run as the cells of
a notebook in a real kernel in the journey's folder (their own ``assert`` lines check them).

Commands run in ``bash`` at a real terminal (a pseudo-terminal: ``raiden add`` asks there), in
the journey's own folder (``cd``, ``source`` and ``export`` hold for the commands after them, as
in the reader's shell), with the test's environment; what the page writes as the reader's
(``10.0.0.11``, a Pi's address) the test maps to the virtual cluster's with ``replace``. A
prompt is answered from ``answers`` (its text, as the terminal shows it, to what is typed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Shell = Callable[[str], list[str]]  # a command line to the argv that runs it (another head: chroot)
MARK = re.compile(
    r"<!--\s*journey:\s*([\w-]+)(?:\s+as:\s*(\w+))?(?:\s+(file|append):\s*(\S+))?\s*-->\s*\n```(\w+)\n(.*?)```", re.S
)
RUNNING = "leave it running"  # a command's remark that says it holds its terminal: the journey goes on beside it


@dataclass
class Step:
    kind: str  # "command", "python" or "file"
    text: str  # the command line, the script, or the file's text
    expected: list[str] = field(default_factory=list)  # the lines the page shows (command only)
    cells: list[str] = field(default_factory=list)  # python: the blocks, one notebook cell each
    where: str = ""  # page:line, for the failure message
    role: str | None = None  # ``as: student``: who runs it (the test says which Unix users)
    path: str = ""  # file: where the reader saves the block (in the journey's folder)
    append: bool = False  # file: added to the end of what is there
    background: bool = False  # command: "# leave it running" (a server): runs on beside the journey


def journey(page: Path, name: str) -> list[Step]:
    """The steps of journey ``name`` on ``page``, in the page's order."""
    text = page.read_text()
    steps: list[Step] = []
    for match in MARK.finditer(text):
        if match.group(1) != name:
            continue
        role, saved, path, kind, body = match.group(2), match.group(3), match.group(4), match.group(5), match.group(6)
        line = text.count("\n", 0, match.start(6)) + 1
        where = f"{page.name}:{line}"
        if saved:
            steps.append(Step("file", body, where=where, role=role, path=path, append=saved == "append"))
            continue
        if kind == "python":
            if steps and steps[-1].kind == "python" and steps[-1].role == role:  # one notebook's cells
                steps[-1].cells.append(body)
            else:
                steps.append(Step("python", body, cells=[body], where=where, role=role))
            continue
        if kind != "console":
            raise ValueError(f"{where}: a journey's block is console or python, not {kind}")
        steps += [dataclasses.replace(step, role=role) for step in _commands(body, page.name, line)]
    return steps


def _commands(block: str, page: str, first: int) -> list[Step]:
    steps: list[Step] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            where = f"{page}:{first + i}"
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + "\n" + lines[i]
            steps.append(Step("command", _strip_comment(command), where=where, background=RUNNING in command))
        elif steps:
            steps[-1].expected.append(line)
        i += 1
    return steps


def _strip_comment(command: str) -> str:
    """The command without the page's trailing ``# remark`` (two spaces or more before the ``#``)."""
    return re.sub(r"\s{2,}#[^'\"]*$", "", command).rstrip()


def matches(expected: list[str], got: list[str]) -> bool:
    """Whether ``got`` is ``expected`` with each ``...`` line standing for any lines, ``...`` in a line for any text."""
    patterns = [None if e.strip() == "..." else _line_pattern(e) for e in expected]

    def at(p: int, g: int) -> bool:
        if p == len(patterns):
            return g == len(got)
        if patterns[p] is None:
            return any(at(p + 1, k) for k in range(g, len(got) + 1))
        return g < len(got) and patterns[p].fullmatch(" ".join(got[g].split())) is not None and at(p + 1, g + 1)

    return at(0, 0)


def unmatched(expected: list[str], got: list[str]) -> list[str]:
    """The page's lines that match no line of ``got`` (what a failure points at)."""
    flat = [" ".join(g.split()) for g in got]
    return [e for e in expected if e.strip() != "..." and not any(_line_pattern(e).fullmatch(g) for g in flat)]


def _line_pattern(line: str) -> re.Pattern:
    """A line's pattern; runs of spaces count as one (a table's columns widen with its values)."""
    return re.compile(".*?".join(re.escape(" ".join(part.split())) for part in line.split("...")).replace(r"\ ", " "))


@dataclass
class Transcript:
    command: str
    code: int
    lines: list[str]


def at_terminal(
    command: str, cwd: Path, env: dict, answers: dict[str, str], timeout: float, shell: Shell | None = None
) -> Transcript:
    """Run ``command`` in bash (or ``shell``'s argv for it) with a pseudo-terminal as its controlling
    terminal, answering prompts."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # "\n" as the program wrote it
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    process = subprocess.Popen(
        shell(command) if shell else ["bash", "-c", command],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    out = b""
    answered = 0  # where the output stood at the last answer: a prompt is answered once
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"{command!r} ran past {timeout} s; the terminal showed:\n{out.decode()[-3000:]}")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: every process holding it ended
                    break
                if not chunk:
                    break
                out += chunk
                tail = out[answered:].decode(errors="replace")
                for prompt, answer in answers.items():
                    if tail.rstrip(" ").endswith(prompt.rstrip(" ")):
                        os.write(master, answer.encode() + b"\n")
                        answered = len(out)
                        break
            elif process.poll() is not None and not select.select([master], [], [], 0.2)[0]:
                break
    finally:
        os.close(master)
    code = process.wait(timeout=30)
    text = out.decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
    return Transcript(command, code, text.splitlines())


def in_a_kernel(cells: list[str], cwd: Path, env: dict, timeout: float, where: str) -> str:
    """Run ``cells`` as one notebook in a real kernel started in ``cwd`` with ``env``; what they printed."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=env)
    except CellExecutionError as e:
        raise AssertionError(f"{where}: the page's Python failed:\n{e}") from None
    return "".join(o.get("text", "") for c in nb.cells for o in c.outputs)


def run(
    steps: list[Step],
    cwd: Path,
    env: dict,
    replace: dict[str, str] | None = None,
    answers: dict[str, str] | None = None,
    timeout: float = 600,
    log=print,
    shell: Shell | None = None,
    people: dict[str, list[tuple[Shell | Any, dict]]] | None = None,
) -> list[tuple[Step, float, list[str]]]:
    """Run every step in order; raise AssertionError naming the page's line at the first that fails.

    With ``shell`` (another head), commands run through it and ``python`` blocks run there as one IPython
    script (as a notebook's cells: IPython keeps their source for ``raiden_lab.jit``). A step marked
    ``as: ROLE`` runs once for each of ``people[ROLE]`` (a shell and an environment: a Unix user each; for
    ``python`` blocks, the shell may instead be an object with ``cells(cells, timeout) -> str``: a student's
    JupyterLab behind a hub). Returns each step with the seconds it took and the lines it showed.
    """
    replace = replace or {}
    kept: list[str] = []  # cd, source, export: what a reader's shell keeps for the next command

    def mapped(text: str) -> str:
        for page_value in sorted(replace, key=len, reverse=True):  # 10.0.0.11 before 10.0.0.1
            text = text.replace(page_value, replace[page_value])
        return text

    timed = []
    running: list[subprocess.Popen] = []
    try:
        for step in steps:
            started = time.monotonic()
            shown = []
            for who, their_env in (people or {})[step.role] if step.role else [(shell, env)]:
                if step.background:
                    shown.append(_beside(step, mapped, kept, cwd, their_env, timeout, who, log, running))
                else:
                    shown.append(_one(step, mapped, kept, cwd, their_env, answers or {}, timeout, who, log))
            timed.append((step, time.monotonic() - started, "\n".join(shown).splitlines()))
    finally:
        for process in running:  # what the reader stops with Ctrl+C at the end
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
    return timed


def _beside(step: Step, mapped, kept: list[str], cwd: Path, env: dict, timeout: float, shell, log, running) -> str:
    """Start ``step`` (a server the page leaves running) and return once it showed the page's lines."""
    command = mapped(step.text)
    line = "".join(f"{k} >/dev/null && " for k in kept) + command
    with tempfile.TemporaryFile() as out:  # the server keeps its own handle on it
        process = subprocess.Popen(shell(line) if shell else ["bash", "-c", line], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        running.append(process)
        want = [mapped(line) for line in step.expected if line.strip() != "..."]
        deadline = time.monotonic() + timeout
        while True:
            out.seek(0)
            lines = out.read().decode(errors="replace").splitlines()
            if not unmatched(want, lines):
                break
            assert process.poll() is None, (
                f"{step.where}: `{command}` ended (exit {process.returncode}); the terminal showed:\n"
                + "\n".join(lines)
            )
            assert time.monotonic() < deadline, (
                f"{step.where}: `{command}` did not show what the page shows in {timeout} s.\nterminal:\n"
                + "\n".join(lines)
                + f"\nlines of the page that no line matched: {unmatched(want, lines)}"
            )
            time.sleep(0.5)
    shown = "\n".join(lines)
    log(f"{step.where}: $ {command} (left running)\n{shown}")
    return shown


def _one(step: Step, mapped, kept: list[str], cwd: Path, env: dict, answers: dict, timeout: float, shell, log) -> str:
    """Run ``step`` once (through ``shell``, when given); what it showed."""
    started = time.monotonic()
    if step.kind == "file":
        path = mapped(step.path)
        write = f"cat {'>>' if step.append else '>'} {shlex.quote(path)}"
        saved = subprocess.run(shell(write) if shell else ["bash", "-c", write], cwd=cwd, env=env,
                               input=mapped(step.text), text=True, capture_output=True, timeout=60)  # fmt: skip
        assert saved.returncode == 0, f"{step.where}: could not save {path}: {saved.stderr}"
        log(f"{step.where}: {'added to' if step.append else 'saved'} {path}")
        return ""
    if step.kind == "python":
        cells = [mapped(cell) for cell in step.cells]
        if hasattr(shell, "cells"):  # a student's JupyterLab behind the class's hub
            shown = shell.cells(cells, timeout)
        elif shell is None:
            shown = in_a_kernel(cells, cwd, env, timeout, step.where)
        else:
            script = "\n".join(cells) + "\nprint('journey: cells done')\n"
            ran = subprocess.run(shell(f"ipython --no-banner --colors=NoColor -c {shlex.quote(script)}"),
                                 cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)  # fmt: skip
            shown = ran.stdout.replace("journey: cells done\n", "")
            assert "journey: cells done" in ran.stdout, (
                f"{step.where}: the page's Python failed:\n{ran.stdout}{ran.stderr}"
            )
        log(f"{step.where}: {len(step.cells)} python block(s) ({time.monotonic() - started:.1f} s)\n{shown}")
        return shown
    command = mapped(step.text)
    line = "".join(f"{k} >/dev/null && " for k in kept) + command
    said = at_terminal(line, cwd, env, {mapped(k): v for k, v in answers.items()}, timeout, shell)
    said.command = command
    if command.split()[0] in ("cd", "source", ".", "export"):
        kept.append(command)
    shown = "\n".join(said.lines)
    log(f"{step.where}: $ {said.command} ({time.monotonic() - started:.1f} s, exit {said.code})\n{shown}")
    assert said.code == 0, f"{step.where}: `{said.command}` exited {said.code}; the terminal showed:\n{shown}"
    if step.expected:
        want = [mapped(line) for line in step.expected]
        assert matches(want, said.lines), (
            f"{step.where}: `{said.command}` did not show what the page shows.\npage:\n"
            + "\n".join(want)
            + f"\nterminal:\n{shown}\nlines of the page that no line matched: {unmatched(want, said.lines)}"
        )
    return shown
