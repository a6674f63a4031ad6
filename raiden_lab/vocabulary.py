"""The words every layer shares: states of clusters, nodes and engines, event kinds, throttle flags.

Defined once here; ``extension/src/models.ts`` mirrors them (a test compares
the two). They are ``StrEnum``s, so they travel as plain strings in JSON and
the store, and compare equal to them.
"""

from __future__ import annotations

from enum import StrEnum

from .node.agent import THROTTLE_BITS


class ClusterState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    STOPPED = "stopped"


class NodeState(StrEnum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"
    FAILED = "failed"
    DRAINING = "draining"  # `raiden remove --drain`: no new work, running tasks finish
    OFF = "off"  # powered off on purpose (`raiden power off`, power saving): not a fault


class EngineState(StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


ALIVE = frozenset({EngineState.IDLE, EngineState.BUSY})
GONE = frozenset({NodeState.DOWN, NodeState.FAILED})


class Event(StrEnum):
    """What ``raiden events`` lists; one sentence each comes with it."""

    CLUSTER_STARTING = "cluster-starting"
    CLUSTER_RUNNING = "cluster-running"
    CLUSTER_STOPPED = "cluster-stopped"
    CONTROLLER_STARTED = "controller-started"
    CONTROLLER_DIED = "controller-died"
    CONTROLLER_RESTARTED = "controller-restarted"
    NODE_SKIPPED = "node-skipped"
    NODE_UP = "node-up"
    NODE_DOWN = "node-down"
    NODE_BACK = "node-back"
    NODE_FAILED = "node-failed"
    NODE_JOINED = "node-joined"
    NODE_SILENT = "node-silent"
    NODE_RESTARTING = "node-restarting"
    ENGINE_DIED = "engine-died"
    ENGINE_RESTARTED = "engine-restarted"
    LEFTOVERS_KILLED = "leftovers-killed"
    JOB_STARTED = "job-started"
    JOB_SUBMITTED = "job-submitted"
    JOB_RESTARTED = "job-restarted"
    JOB_ENDED = "job-ended"
    JOB_FAILED = "job-failed"
    JOB_CANCELLED = "job-cancelled"
    TEMPERATURE_HIGH = "temperature-high"
    TEMPERATURE_NORMAL = "temperature-normal"
    THROTTLING_BEGAN = "throttling-began"
    THROTTLING_ENDED = "throttling-ended"
    STATE_FILE_DAMAGED = "state-file-damaged"
    STATE_FILE_UNWRITABLE = "state-file-unwritable"
    NODE_NOISY = "node-noisy"
    NODE_CLOCK_OFF = "node-clock-off"
    NODE_ADDED = "node-added"
    NODE_DRAINING = "node-draining"
    NODE_REMOVED = "node-removed"
    POWER_ON = "power-on"
    POWER_OFF = "power-off"
    POWER_CYCLE = "power-cycle"
    POWER_FAILED = "power-failed"


# The Pi firmware's throttle flags (``vcgencmd get_throttled``), decoded on the node by its agent.
THROTTLE_FLAGS: tuple[str, ...] = tuple(name for _, name in THROTTLE_BITS)
THROTTLE_LABELS: dict[str, str] = {
    "under_voltage": "under voltage",
    "freq_capped": "frequency capped",
    "throttled": "throttled",
    "soft_temp_limit": "soft temperature limit",
}

# Temperature bands of the sidebar, the dashboard and the status table (°C).
WARM_C = 60.0
HOT_C = 75.0


def throttling_now(flags: dict | None) -> list[str] | None:
    """The labels of the throttle flags set now; None when the node has no such sensor."""
    if flags is None:
        return None
    return [THROTTLE_LABELS[name] for name in THROTTLE_FLAGS if flags.get(name)]


def temperature_band(celsius: float | None) -> str:
    """``unknown``, ``fine``, ``warm`` or ``hot``."""
    if celsius is None:
        return "unknown"
    return "fine" if celsius < WARM_C else "warm" if celsius < HOT_C else "hot"
