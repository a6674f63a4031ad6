"""What the head keeps on disk, and for how long: socket folders, events, agent lines, the boot-time unit."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from conftest import Raiden
from raiden_lab.aio import bounded_lines
from raiden_lab.config.inventory import embedded_default
from raiden_lab.config.paths import ClusterPaths
from raiden_lab.daemon.store import EVENTS_KEPT, Store
from raiden_lab.operations import service


def test_socket_folders_outside_raiden_home_cannot_be_guessed_by_another_user(tmp_path: Path, monkeypatch) -> None:
    deep = tmp_path / ("d" * 80) / "home"
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    paths = ClusterPaths("c", deep)
    paths.ensure()
    folder = paths.ssh_control_dir
    # what any user could compute from the path alone, and create first
    guessable = (
        Path(tempfile.gettempdir()) / f"raiden-{os.getuid()}-{hashlib.sha1(str(paths.root).encode()).hexdigest()[:12]}"
    )
    assert folder.parent == Path(tempfile.gettempdir()) and folder != guessable
    assert folder == ClusterPaths("c", deep).ssh_control_dir  # the same for every process of this user
    assert (deep / ".secret").stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    runtime = Path(tempfile.mkdtemp(dir="/tmp"))  # short, like /run/user/1000
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        assert ClusterPaths("c", deep).ssh_control_dir.parent == runtime  # systemd's per-user folder
    finally:
        shutil.rmtree(runtime)


def test_old_events_are_pruned_and_samples_keep_a_week(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    with store.db:
        store.db.executemany(
            "INSERT INTO events (time, host, kind, message) VALUES (?, NULL, 'node-up', ?)",
            [(i, f"event {i}") for i in range(EVENTS_KEPT + 50)],
        )
    store.compact()
    kept = store.events(limit=EVENTS_KEPT + 100)
    assert len(kept) == EVENTS_KEPT
    assert kept[0]["message"] == "event 50" and kept[-1]["message"] == f"event {EVENTS_KEPT + 49}"
    store.close()


def test_a_line_over_the_limit_is_dropped_and_reading_goes_on() -> None:
    async def read() -> tuple[list[bytes], int]:
        stream = asyncio.StreamReader(limit=64 * 1024)
        stream.feed_data(b'{"a": 1}\n' + b"x" * (1 << 20) + b"\n" + b'{"b": 2}\n' + b"y" * (200 * 1024))
        stream.feed_data(b"\n" + b'{"c": 3}\n')
        stream.feed_eof()
        dropped = []
        got = [line async for line in bounded_lines(stream, lambda: dropped.append(1))]
        return got, len(dropped)

    lines, dropped = asyncio.run(read())
    assert lines == [b'{"a": 1}\n', b'{"b": 2}\n', b'{"c": 3}\n']
    assert dropped >= 2


def test_up_with_service_says_where_systemd_does_not_run_and_the_units_commands_work(raiden: Raiden) -> None:
    inventory = embedded_default()
    paths = ClusterPaths(inventory.name, raiden.home)
    text = service.unit_text(inventory, paths)
    assert "[Install]\nWantedBy=default.target" in text and "Type=oneshot\nRemainAfterExit=yes" in text
    assert f"Environment=RAIDEN_HOME={raiden.home}" in text
    command = {
        k: v for k, _, v in (line.partition("=") for line in text.splitlines()) if k in ("ExecStart", "ExecStop")
    }
    if service.systemd_problem() is not None:  # this machine (CI's container) runs no systemd
        ran = raiden("up", "--service")
        assert ran.code == 0, ran
        assert "cluster 'local' is up" in ran.out
        assert "this head does not run systemd, so `--service` cannot make cluster 'local' start at boot" in ran.err
        assert "@reboot" in ran.err and not service.unit_path(inventory).exists()
        assert raiden("down").code == 0
    # what systemd would run at boot and at shutdown, run here as it would run them
    raiden.home.mkdir(parents=True, exist_ok=True)
    for verb, said in (("ExecStart", "cluster 'local' is up"), ("ExecStop", "cluster 'local' stopped")):
        ran = _run(raiden, shlex.split(command[verb]))
        assert ran.returncode == 0 and said in ran.stdout, ran


def _run(raiden: Raiden, argv: list[str]):
    import subprocess

    return subprocess.run(argv, cwd=raiden.home, env=raiden.env, capture_output=True, text=True, timeout=180)


def test_the_task_stream_answers_as_its_file_is_now_however_often_it_is_asked(tmp_path: Path) -> None:
    """The stream is asked once a second and keeps each task it drew decoded: what it answers is still what
    the file holds, as tasks come, age out of the minute, and a new file reuses the old one's row ids."""
    from raiden_lab.operations.taskfile import TASK_FILE, TaskFile, stream_model

    now = time.time()

    def task(i: int, end: float, function: str = "f") -> dict:
        return {"kind": "chunk", "map": 1, "function": function, "engine": i % 2, "node": "n", "chunk": i,
                "start": end - 0.1, "end": end, "outcome": "ok", "items": 3, "first": 3 * i, "said": f"said {i}"}  # fmt: skip

    def chunks(at: float) -> list[tuple[int, str]]:
        return [(t["chunk"], t["function"]) for t in stream_model(tmp_path, None, now=at)["tasks"]]

    stream = TaskFile(tmp_path / TASK_FILE)
    stream.add([task(i, now - 30 + i) for i in range(10)])
    first = stream_model(tmp_path, None, now=now)["tasks"]
    assert [(t["chunk"], t["said"], t["items"]) for t in first] == [(i, f"said {i}", 3) for i in range(10)]
    first[0]["function"] = "changed by whoever asked"  # not in the next answer
    stream.add([task(i, now + i) for i in range(10, 13)])
    assert chunks(now + 20) == [(i, "f") for i in range(13)]
    assert chunks(now + 35) == [(i, "f") for i in range(5, 13)]  # the first five ended over a minute ago
    stream.close()
    for path in tmp_path.glob(TASK_FILE + "*"):
        path.unlink()  # the cluster removed and made again: a new file, its row ids from 1 again
    stream = TaskFile(tmp_path / TASK_FILE)
    stream.add([task(i, now - 20 + i, function="g") for i in range(3)])
    assert chunks(now) == [(0, "g"), (1, "g"), (2, "g")]
    stream.close()
