"""A cluster on a shared network: CurveZMQ on the wire, a port range for the firewall, wrong keys refused.

The virtual Pi cluster's bridge is the shared network: a raw socket on it sees
every frame between the head and the nodes, as anyone on a real LAN could.
"""

from __future__ import annotations

import json
import socket
import threading

import psutil
import pytest

from conftest import _make_raiden

pytestmark = pytest.mark.vcluster

MARKER = "raiden-wire-marker-7f3a9c"


class Sniffer:
    """Every frame that crosses one interface while it runs (root only: AF_PACKET)."""

    def __init__(self, interface: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind((interface, 0))
        self.sock.settimeout(0.2)
        self.frames: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            try:
                self.frames.append(self.sock.recv(65535))
            except TimeoutError:
                continue

    def stop(self) -> bytes:
        self.running = False
        self.thread.join()
        self.sock.close()
        return b"".join(self.frames)


def _send_marker(raiden, inventory) -> str:
    """A notebook's work travels to the engines on other nodes and its answer comes back."""
    ran = raiden.python(
        "import raiden_lab\n"
        f"c = raiden_lab.connect(inventory={str(inventory)!r})\n"
        f"payload = {MARKER!r} * 50\n"
        "print(sorted(set(c.direct.apply_sync(lambda s: s[::-1][::-1], payload))) == [payload])\n",
        timeout=120,
    )
    assert ran.code == 0, ran.err
    return ran.out.strip()


def _listening(pid: int) -> set[tuple[str, int]]:
    proc = psutil.Process(pid)
    return {
        (c.laddr.ip, c.laddr.port)
        for p in [proc, *proc.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


@pytest.fixture(scope="module")
def secure(vpi, tmp_path_factory):
    raiden = _make_raiden(tmp_path_factory.mktemp("secure"))
    inventory = vpi.inventory("secure", [vpi.node("pi1"), vpi.node("pi2")], engines=1, extra='ports = "10300-10339"')
    ran = raiden("up", "-i", str(inventory))
    assert ran.code == 0, ran.err
    assert "not encrypted" not in ran.err
    try:
        yield raiden, inventory
    finally:
        raiden("down", "-i", str(inventory))


def test_encrypted_by_default_on_the_inventorys_ports(vpi, secure) -> None:
    raiden, inventory = secure
    status = raiden("status", "-i", str(inventory), "--json").json()
    controller = status["controller"]
    assert controller["encrypted"] is True and controller["port_range"] == "10300-10339"
    assert f"(pid {controller['pid']}, CurveZMQ, ports 10300-10339)" in raiden("status", "-i", str(inventory)).out
    # every port the controller listens on, the nodes' and its own loopback links, is in the range
    ports = {port for _, port in _listening(controller["pid"])}
    assert ports and all(10300 <= port <= 10339 for port in ports), sorted(ports)
    client = json.loads((raiden.home / "secure" / "profile" / "security" / "ipcontroller-client.json").read_text())
    assert client["curve_serverkey"] and client["key"]  # CurveZMQ, and the messages are still signed


def test_nothing_readable_crosses_the_network(vpi, secure) -> None:
    raiden, inventory = secure
    sniffer = Sniffer(vpi.bridge)
    try:
        assert _send_marker(raiden, inventory) == "True"
    finally:
        wire = sniffer.stop()
    assert len(wire) > 1000  # the work did cross the bridge
    assert MARKER.encode() not in wire
    assert b"apply_request" not in wire and b"msg_type" not in wire  # no message header in clear either


@pytest.mark.parametrize("wrong", ["server key", "signing key"])
def test_a_client_with_a_wrong_key_is_refused(secure, wrong: str) -> None:
    raiden, _ = secure
    import zmq

    info = json.loads((raiden.home / "secure" / "profile" / "security" / "ipcontroller-client.json").read_text())
    if wrong == "server key":
        info["curve_serverkey"] = zmq.curve_keypair()[0].decode("ascii")
    else:
        info["key"] = "0" * 64
    forged = raiden.cwd / f"forged-{wrong.replace(' ', '-')}.json"
    forged.write_text(json.dumps(info))
    ran = raiden.python(
        "import ipyparallel as ipp\n"
        "try:\n"
        f"    c = ipp.Client({str(forged)!r}, timeout=8)\n"
        "    print('engines', c[:].apply_sync(lambda: 1))\n"
        "except Exception as e:\n"
        "    print('refused', type(e).__name__)\n",
        timeout=120,
    )
    assert ran.out.startswith("refused"), (ran.out, ran.err)


def test_encryption_turned_off_is_warned_about_and_readable_on_the_wire(vpi, tmp_path) -> None:
    raiden = _make_raiden(tmp_path)
    inventory = vpi.inventory("plain", [vpi.node("pi3")], engines=1, extra="encrypt = false")
    ran = raiden("up", "-i", str(inventory))
    try:
        assert ran.code == 0, ran.err
        address = vpi.node("pi3").address
        assert (
            f"warning: {inventory}:7: encrypt = false: the traffic between the head and {address} is not encrypted"
        ) in ran.err
        assert raiden("status", "-i", str(inventory), "--json").json()["controller"]["encrypted"] is False
        sniffer = Sniffer(vpi.bridge)
        try:
            assert _send_marker(raiden, inventory) == "True"
        finally:
            wire = sniffer.stop()
        assert MARKER.encode() in wire  # the same capture reads it all: encryption is what hid it above
    finally:
        raiden("down", "-i", str(inventory))
