"""The work made visible: each task's output kept with its result, a failed task named by its input,
and a report that outlives the cluster (HTML that opens with no network, its JSON, a Chrome trace)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from conftest import need

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_each_items_output_is_kept_with_its_result_however_many_share_a_chunk(local) -> None:
    ran = local.python(
        """
import json, raiden_lab
c = raiden_lab.connect()
def f(x):
    import logging, sys
    print("item", x)
    if x % 7 == 0:
        print("seven divides", x, file=sys.stderr)
    if x % 10 == 0:
        logging.getLogger("demo").warning("a round %d", x)
    return x * x
r = c.map(f, range(60), chunksize=7)
chunks = [t for t in r.records if t["kind"] == "chunk"]
print(json.dumps({"results": list(r), "said": [r.output(i) for i in range(60)], "err": r.output(14, "stderr"),
                  "chunks": len(chunks), "items": sum(t["items"] for t in chunks),
                  "nodes": sorted({t["node"] for t in chunks}), "bytes": [t["bytes_in"] for t in chunks]}))
"""
    )
    assert ran.code == 0, ran.err
    out = json.loads(ran.out.strip().splitlines()[-1])
    assert out["results"] == [x * x for x in range(60)]
    for i, said in enumerate(out["said"]):
        want = (
            f"item {i}\n"
            + (f"seven divides {i}\n" if i % 7 == 0 else "")
            + (f"WARNING:demo:a round {i}\n" if i % 10 == 0 else "")
        )
        assert said == want, (i, said)
    assert out["err"] == "seven divides 14\n"
    assert out["chunks"] == 9 and out["items"] == 60 and out["nodes"] == ["localhost"]
    assert all(b and b > 0 for b in out["bytes"]), out["bytes"]  # the chunks' bytes, measured


def test_a_failed_task_names_its_input_and_is_recorded_as_an_error(local) -> None:
    ran = local.python(
        """
import raiden_lab, traceback
c = raiden_lab.connect()
def g(word):
    if word == "w13":
        raise ValueError("no thirteen here")
    return word.upper()
try:
    c.map(g, [f"w{i}" for i in range(30)], chunksize=4)
except Exception as e:
    print("".join(traceback.format_exception(e))[-2000:])
print("outcomes", sorted({t["outcome"] for t in c.tasks.records}))
"""
    )
    assert ran.code == 0, ran.err
    assert "ValueError: no thirteen here" in ran.out, ran.out
    assert "raised by the map's item 13: 'w13'" in ran.out, ran.out
    assert "outcomes ['error', 'ok']" in ran.out, ran.out


def test_a_report_outlives_the_cluster_and_opens_with_no_network(local, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    ran = local.python(
        f"""
import raiden_lab
c = raiden_lab.connect()
def work(x):
    import time
    time.sleep(0.4 if x == 17 else 0.02)
    print("worked on", x)
    return x
with raiden_lab.report({str(report)!r}, title="one slow task"):
    c.map(work, range(40), chunksize=2)
    c.map(abs, range(-5000, 5000))
    c.direct.apply_sync(print, "hello from apply")  # a view's apply on every engine, as the controller records it
    c.direct.execute("answer = 6 * 7", block=True)  # what %%px sends
"""
    )
    assert ran.code == 0, ran.err
    assert local("down").code == 0  # the report needs nothing of the cluster any more
    try:
        data = json.loads(report.with_suffix(".json").read_text())
        assert (data["schema"], data["version"]) == ("raiden-lab/report", 1)
        engines = len(data["engines"])
        others = {f["function"]: f["chunks"] for f in data["functions"] if f["function"] not in ("work", "abs")}
        assert others == {"apply": engines, "%px answer = 6 * 7": engines}, data["functions"]
        applied = [t for t in data["tasks"] if t["function"] == "apply"]
        assert sorted(t["engine"] for t in applied) == sorted(e["id"] for e in data["engines"])
        assert all(t["output"] == "hello from apply\n" and t["node"] == "localhost" for t in applied), applied
        work = next(f for f in data["functions"] if f["function"] == "work")
        assert work["items"] == 40 and work["chunks"] == 20
        assert 0 < data["efficiency"]["value"] <= 1 and data["efficiency"]["engines"] == len(data["engines"])
        straggler = data["stragglers"][0]  # the slowest (a loaded machine may show others, none as slow)
        assert (straggler["function"], straggler["first"]) == ("work", 17) and straggler["times_typical"] > 5
        assert straggler["why"], straggler  # said, even when no cause is known (here: none of the three)
        slow = next(t for t in data["tasks"] if t["function"] == "work" and t["first"] == 17)
        assert slow["output"] == "worked on 17\n"
        env = data["environment"]
        assert env["nodes"][0]["host"] == "localhost" and env["packages"]["ipyparallel"]
        trace = json.loads(report.with_suffix(".trace.json").read_text())
        assert len([e for e in trace["traceEvents"] if e["ph"] == "X"]) == len(data["tasks"])

        if not os.path.exists(CHROMIUM):
            need(f"the report's page needs Chromium at {CHROMIUM}")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(offline=True, viewport={"width": 1300, "height": 900}).new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(report.as_uri())
            assert page.locator("rect.task").count() == len(data["tasks"])
            assert "one slow task" in page.locator("h1").inner_text()
            assert "17" in page.locator("#stragglers").inner_text()
            page.locator(f"rect.task[data-i='{data['tasks'].index(slow)}']").click()
            assert "worked on 17" in page.locator("#detail").inner_text()
            page.screenshot(path=str(_output("report.png")), full_page=True)
            browser.close()
        assert failed == []
    finally:
        assert local("up").code == 0


def test_a_report_written_while_a_task_still_waits_leaves_it_out(local, tmp_path: Path) -> None:
    """A report closed while work is queued behind a long task (the report cell run before the work ends):
    what ran is in it, what has not started or ended is not (it once failed to write at all)."""
    report = tmp_path / "busy.html"
    ran = local.python(
        f"""
import time, raiden_lab
c = raiden_lab.connect()
with raiden_lab.report({str(report)!r}):
    c.direct.apply_sync(print, "before")
    first = c.client[c.ids[0]].apply_async(time.sleep, 3)  # running when the report is written
    second = c.client[c.ids[0]].apply_async(time.sleep, 0)  # waiting behind it in the engine's queue
    time.sleep(1)
first.get(timeout=60), second.get(timeout=60)
"""
    )
    assert ran.code == 0, ran.err
    data = json.loads(report.with_suffix(".json").read_text())
    applied = [t for t in data["tasks"] if t["function"] == "apply"]
    assert len(applied) == len(data["engines"]) and all(t["output"] == "before\n" for t in applied), applied


def test_raiden_report_in_a_notebook_writes_what_ran_since_it_connected(local) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext raiden_lab\n%raiden up"),
            nbformat.v4.new_code_cell("squares = cluster.map(lambda x: x * x, range(100))"),
            nbformat.v4.new_code_cell("%raiden report squares.html"),
            nbformat.v4.new_code_cell("%raiden report squares.txt"),
        ]
    )
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(local.cwd)}}).execute(
        env=dict(os.environ, **local.env)
    )
    said = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert said.startswith("wrote squares.html (and its .json, .trace.json): ") and "efficiency" in said, said
    data = json.loads((local.cwd / "squares.json").read_text())
    assert sum(t["items"] for t in data["tasks"] if t["kind"] == "chunk" or t["kind"] == "task") >= 100
    wrong = "".join(o.get("text", "") for o in nb.cells[3].outputs)
    assert wrong.strip() == "raiden: usage: %raiden report [FILE.html] (not 'squares.txt')", wrong


def test_another_account_on_the_head_cannot_read_the_task_stream(local) -> None:
    """The stream keeps what each task printed: another local account (a student on a shared head) reads none of it,
    even with every folder above the cluster's opened to it: the cluster's folder and the file are the owner's alone."""
    import unixusers

    need(unixusers.missing_requirements())
    ran = local.python(
        """
import raiden_lab
c = raiden_lab.connect()
def secret(x):
    print("the teacher's answer is", x)
    return x
c.map(secret, range(8), chunksize=1)
"""
    )
    assert ran.code == 0, ran.err
    root = local.home / "local"
    stream = root / "tasks.sqlite"
    files = sorted(root.glob("tasks.sqlite*"))  # the database and its write-ahead log
    assert any(b"the teacher's answer is" in f.read_bytes() for f in files), files  # what there is to steal
    assert files and all(f.stat().st_mode & 0o777 == 0o600 for f in files), [(f, oct(f.stat().st_mode)) for f in files]
    assert root.stat().st_mode & 0o777 == 0o700
    above = [f for f in local.home.parents if str(f).startswith("/tmp/")]  # not Raiden's own folders
    modes = {f: f.stat().st_mode for f in above}
    try:
        for folder in above:  # only the test's own temporary folders, put back after
            folder.chmod(modes[folder] | 0o005)
        tried = unixusers.run_as(
            "nobody",
            "import os\n"
            f"for path in {[str(local.home.parent), str(local.home), str(root), str(stream)]!r}:\n"
            "    try:\n"
            "        print(sorted(os.listdir(path)) if os.path.isdir(path) else open(path, 'rb').read(16))\n"
            "    except PermissionError:\n"
            "        print('refused', path)\n",
            None,
        )
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)
    assert tried.returncode == 0, tried.stderr
    said = tried.stdout.splitlines()
    assert local.home.name in said[0], said  # the test's folders above are open to the other account
    assert said[1:] == [f"refused {local.home}", f"refused {root}", f"refused {stream}"], said


def _output(name: str) -> Path:
    out = Path(__file__).resolve().parent.parent / "test-output"
    out.mkdir(exist_ok=True)
    return out / name
