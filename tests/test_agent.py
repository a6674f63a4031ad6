"""The metrics agent as a node runs it, and the store that keeps its samples small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from raiden_lab.daemon.store import Store
from raiden_lab.node import agent as node_agent
from raiden_lab.node.agent import Sensors, decode_throttled


def test_throttled_word_decodes_now_and_since_boot() -> None:
    flags = decode_throttled(0x50005)
    assert flags["under_voltage"] and flags["throttled"] and not flags["freq_capped"] and not flags["soft_temp_limit"]
    assert flags["under_voltage_occurred"] and flags["throttled_occurred"] and not flags["freq_capped_occurred"]
    assert not any(v for k, v in decode_throttled(0).items() if k != "raw")


def test_a_vcgencmd_that_misses_its_time_leaves_the_last_throttling_standing(tmp_path: Path, monkeypatch) -> None:
    # a loaded Pi (in CI: the emulated one under qemu) answers get_throttled late now and then: its card must not
    # flicker to "not throttled" for a reading that never came
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hang = tmp_path / "hang"
    vcgencmd = bin_dir / "vcgencmd"
    vcgencmd.write_text(f"#!/bin/sh\n[ -e {hang} ] && sleep 5\necho throttled=0x50005\n")
    vcgencmd.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(node_agent, "VCGENCMD_EVERY_S", 0.0)
    sensors = Sensors(str(tmp_path / "no-thermal"), str(tmp_path / "no-throttled-file"))
    assert sensors.throttled()["throttled"]
    hang.touch()
    assert sensors.throttled()["throttled"]  # the ask timed out after 2 s; the last answer stands
    monkeypatch.setattr(node_agent, "VCGENCMD_KEPT_S", 0.0)
    assert sensors.throttled() is None  # and not for ever: past its time, throttling is unknown again


def test_agent_run_by_hand_prints_samples_from_the_given_sensors(tmp_path: Path) -> None:
    (tmp_path / "temp").write_text("61250\n")
    (tmp_path / "throttled").write_text("0x20002\n")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "raiden_lab.node.agent",
                "--interval",
                "0.2",
                "--count",
                "3",
                "--work-dir",
                str(tmp_path),
                "--thermal",
                str(tmp_path / "temp"),
                "--throttled",
                str(tmp_path / "throttled"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        agent.stdin.write(json.dumps({"engines": {"7": sleeper.pid}}) + "\n")
        agent.stdin.flush()
        samples = [json.loads(agent.stdout.readline()) for _ in range(3)]
        assert agent.wait(timeout=30) == 0  # --count 3: done
    finally:
        sleeper.kill()
    assert len(samples) == 3
    last = samples[-1]
    assert last["temperature"] == 61.25
    assert last["throttled"]["freq_capped"] and last["throttled"]["freq_capped_occurred"]
    assert len(last["cpu"]) == os.cpu_count() and last["disk_free"] > 0
    assert last["engines"]["7"]["pid"] == sleeper.pid and last["engines"]["7"]["memory"] > 0
    assert samples[0]["time"] < samples[1]["time"] < samples[2]["time"]


def test_agent_without_sensors_reports_null_and_stops_with_its_stdin(tmp_path: Path) -> None:
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "raiden_lab.node.agent",
            "--interval",
            "0.1",
            "--thermal",
            str(tmp_path / "none"),
            "--throttled",
            str(tmp_path / "none"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    first = json.loads(agent.stdout.readline())
    assert first["temperature"] is None and first["throttled"] is None
    agent.stdin.close()
    assert agent.wait(timeout=10) == 0


def test_a_day_of_samples_stays_small(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    now = time.time()
    day = 86400
    with store.db:
        store.db.executemany(
            "INSERT INTO samples (time, host, data) VALUES (?, ?, ?)",
            [
                (now - day + i, host, json.dumps({"time": now - day + i, "cpu_total": i % 100}))
                for host in ("pi1", "pi2")
                for i in range(day)
            ],
        )
    store.compact(now=now)
    per_host = dict(store.db.execute("SELECT host, COUNT(*) FROM samples GROUP BY host").fetchall())
    # the last 10 minutes at full rate, one a minute before that
    assert all(600 <= n <= 600 + 1440 + 2 for n in per_host.values()), per_host
    recent = store.samples("pi1", since=now - 600)
    assert len(recent) == 600
    assert store.latest_sample("pi1")["time"] == now - 1
