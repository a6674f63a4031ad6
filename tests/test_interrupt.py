"""Stop means stop: a real kernel interrupted during `cluster.map`, a map's `timeout`, and
`cluster.interrupt()` from elsewhere (what the Stop-work button does), on a local cluster.
"""

from __future__ import annotations

import contextlib
import json
import queue
import time

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import Raiden, _make_raiden, wait_for

SLOW = "def slow(x, s=0.5):\n    import time\n    time.sleep(s)\n    return x\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("interrupt"))
    (raiden.cwd / "raiden.toml").write_text('[cluster]\nname = "stops"\n\n[[nodes]]\nhost = "localhost"\nengines = 2\n')
    try:
        ran = raiden("up")
        assert ran.code == 0, ran
        yield raiden
    finally:
        raiden("down")


@pytest.fixture
def kernel(cluster: Raiden):
    km, kc = start_new_kernel(env=cluster.env, cwd=str(cluster.cwd))
    try:
        yield kc, km
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code: str, timeout: float = 120) -> tuple[str, dict]:
    """Run a cell; its printed text (and an error's name and value) and its reply.

    The kernel sends what a cell printed from its I/O thread, which on a loaded machine can be after
    the cell's idle status (a notebook shows it all the same): a cell that prints and printed nothing
    by then is given ten seconds more for it."""
    out: list[str] = []

    def keep(msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}\n")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=keep)
    msg_id = reply["parent_header"]["msg_id"]
    deadline = time.monotonic() + 10
    while "print(" in code and not out and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            msg = kc.get_iopub_msg(timeout=0.5)
            if msg["parent_header"].get("msg_id") == msg_id:
                keep(msg)
            elif msg["msg_type"] == "stream":  # evidence, should a cell's text come under another's name
                print(f"a stream for {msg['parent_header'].get('msg_id')}, not {msg_id}: {msg['content']}")
    return "".join(out), reply["content"]


def _pids(raiden: Raiden) -> dict[int, int]:
    return {e["id"]: e["pid"] for n in raiden("status", "--json").json()["nodes"] for e in n["engines"]}


def test_interrupting_the_kernel_stops_a_map_on_every_engine(cluster: Raiden, kernel) -> None:
    kc, km = kernel
    text, _ = _run(kc, f"import raiden_lab, sys, time\n{SLOW}c = raiden_lab.connect()\nprint(len(c.ids))")
    assert text.strip() == "2", text
    before = _pids(cluster)
    # a map of 200 half-second items (50 s on two engines), interrupted after 6 s as the stop button does
    # (its first chunks, of 8 items, take 4 s)
    msg_id = kc.execute("c.map(slow, range(200))")
    time.sleep(6)
    pressed = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=60)
    latency = time.monotonic() - pressed
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "MapInterrupted", reply["content"]
    print(f"\nfrom the interrupt to the cell's end: {latency:.2f} s")
    assert latency < 10
    text, _ = _run(
        kc,
        "import json\ne = sys.last_value\n"
        "print(json.dumps([str(e), sorted(e.results), all(k == v for k, v in e.results.items())]))",
    )
    said, done, right = json.loads(text)
    assert said.startswith(f"map was interrupted: {len(done)} of 200 items had finished"), said
    assert "were interrupted" in said and 0 < len(done) < 200 and right  # what finished, by position
    # the engines are the same processes, idle and usable at once
    assert wait_for(lambda: cluster("status", "--json").json()["tasks"]["running"] == 0, 10)
    assert _pids(cluster) == before
    start = time.monotonic()
    text, _ = _run(kc, "print(c.map(abs, range(-3, 0)))")
    assert text.strip() == "[3, 2, 1]" and time.monotonic() - start < 5, text


def test_a_map_timeout_interrupts_running_items(cluster: Raiden, kernel) -> None:
    kc, _ = kernel
    _run(kc, f"import raiden_lab, time\n{SLOW}c = raiden_lab.connect()")
    # items of 30 s each, a timeout of 2 s: the map ends in seconds, so the running items were interrupted
    text, reply = _run(
        kc,
        "start = time.monotonic()\n"
        "try:\n"
        "    c.map(slow, range(8), [30] * 8, timeout=2)\n"
        "except raiden_lab.MapTimeout as e:\n"
        "    print(round(time.monotonic() - start, 1), len(e.results), e)\n",
    )
    seconds, finished, said = text.split(" ", 2)
    assert float(seconds) < 8 and finished == "0", text
    assert said.startswith("map timed out after 2 s: 0 of 8 items had finished; engines 0, 1 were interrupted")
    text, _ = _run(kc, "print(c.map(abs, range(-3, 0)))", timeout=20)
    assert text.strip() == "[3, 2, 1]", text


def test_interrupt_from_another_process_stops_the_work_of_every_connection(cluster: Raiden, kernel) -> None:
    kc, _ = kernel
    _run(kc, f"import raiden_lab, time\n{SLOW}c = raiden_lab.connect()")
    kc.execute("start = time.monotonic()\ntry:\n    c.map(slow, range(8), [30] * 8)\nexcept Exception as e:\n"
               "    print(type(e).__name__, e.ename, round(time.monotonic() - start))\n")  # fmt: skip
    time.sleep(3)
    ran = cluster.python("import raiden_lab\nprint(raiden_lab.connect().interrupt())")
    assert ran.code == 0 and ran.out.strip() == "[0, 1]", ran
    out = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not out:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
    name, ename, seconds = out[0].split()
    assert (name, ename) == ("RemoteError", "KeyboardInterrupt") and int(seconds) < 10, out
    text, _ = _run(kc, "print(c.map(abs, range(-3, 0)))", timeout=20)
    assert text.strip() == "[3, 2, 1]", text


def test_the_dashboards_stop_work_button_and_raiden_interrupt(cluster: Raiden, kernel) -> None:
    kc, _ = kernel
    _run(kc, f"import raiden_lab, time\n{SLOW}c = raiden_lab.connect()")
    kc.execute(
        "try:\n    c.map(slow, range(8), [30] * 8)\nexcept Exception as e:\n    print(type(e).__name__, e.ename)\n"
    )
    time.sleep(3)
    # the button of a dashboard in another notebook (its kernel is free to take the click)
    ran = cluster.python("import raiden_lab\nboard = raiden_lab.dashboard(interval=60)\nboard.stop_work.click()\n"
                         "print(board.said.value)\nboard.close()\n")  # fmt: skip
    assert ran.code == 0 and ran.out.strip() == "interrupted engines 0, 1", ran
    msg = kc.get_iopub_msg(timeout=30)
    while msg["msg_type"] != "stream":
        msg = kc.get_iopub_msg(timeout=30)
    assert msg["content"]["text"].split() == ["RemoteError", "KeyboardInterrupt"]
    _run(kc, "print(c.map(abs, range(-3, 0)))", timeout=20)
    ran = cluster("interrupt")
    assert ran.code == 0 and ran.out.strip() == "no engine was busy", ran


def test_interrupting_a_px_cell_stops_it_on_every_engine(cluster: Raiden, kernel) -> None:
    kc, km = kernel
    _run(kc, "import raiden_lab\nc = raiden_lab.connect()\nc.activate()")
    kc.execute("%%px\nimport time\ntime.sleep(60)\n")
    time.sleep(3)
    pressed = time.monotonic()
    km.interrupt_kernel()
    kc.get_shell_msg(timeout=60)
    latency = time.monotonic() - pressed
    print(f"\nfrom the interrupt to the %%px cell's end: {latency:.2f} s")
    assert latency < 10
    text, _ = _run(kc, "print(c.direct.apply_sync(lambda: 41 + 1))", timeout=20)
    assert text.strip() == "[42, 42]", text
    text, _ = _run(kc, "%px x = 41", timeout=20)
    text, _ = _run(kc, "print(c.direct.pull('x'))", timeout=20)
    assert text.strip() == "[41, 41]", text  # the engines answer, and kept what %px put in their namespace
    assert wait_for(lambda: cluster("status", "--json").json()["tasks"]["running"] == 0, 10)
    # %%px --timeout: the cell's work is interrupted on every engine after that long
    start = time.monotonic()
    text, _ = _run(kc, "%%px --timeout 2\nimport time\ntime.sleep(30)\n", timeout=30)
    assert time.monotonic() - start < 10 and "%%px: timed out after 2 s; the engines were interrupted" in text, text
    assert "KeyboardInterrupt" in text, text
    text, _ = _run(kc, "print(c.direct.apply_sync(lambda: 41 + 1))", timeout=20)
    assert text.strip() == "[42, 42]", text
    text, _ = _run(kc, "%%px --timeout soon\nx = 1\n", timeout=20)
    assert "UsageError: %%px: --timeout 'soon' is not a number of seconds above 0" in text, text
