"""The inventory: good files load as written, bad ones fail with one line naming file and line."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from raiden_lab.config.inventory import embedded_default, example, load, parse, resolve
from raiden_lab.errors import InputError

GOOD = """\
[cluster]
name = "raiden"
controller_ip = "10.0.0.1"
user = "pi"
identity_file = "~/.ssh/raiden_ed25519"
python = "/home/pi/raiden/venv/bin/python"

[[nodes]]
host = "pi1.local"
engines = 3
labels = ["head", "fan"]

[[nodes]]
host = "10.0.0.12"
user = "alice"
port = 2222
work_dir = "/srv/raiden"
"""


def test_good_inventory_applies_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "raiden.toml"
    path.write_text(GOOD)
    inv = load(path)
    assert inv.name == "raiden" and inv.controller_ip == "10.0.0.1"
    pi1, pi2 = inv.nodes
    assert (pi1.host, pi1.user, pi1.port, pi1.engines, pi1.labels) == ("pi1.local", "pi", 22, 3, ("head", "fan"))
    assert pi1.python == "/home/pi/raiden/venv/bin/python"
    assert pi1.identity_file == str(Path("~/.ssh/raiden_ed25519").expanduser())
    assert (pi2.user, pi2.port, pi2.engines, pi2.work_dir) == ("alice", 2222, None, "/srv/raiden")
    assert inv.engines_for(pi1, cores=4) == 3
    assert inv.engines_for(pi2, cores=4) == 4


def test_engines_per_node_is_the_cluster_default(tmp_path: Path) -> None:
    inv = parse(GOOD.replace('python = "/home', 'engines_per_node = 2\npython = "/home'), tmp_path / "x.toml")
    assert [inv.engines_for(n, cores=8) for n in inv.nodes] == [3, 2]


def test_relative_identity_file_is_next_to_the_inventory(tmp_path: Path) -> None:
    inv = parse(GOOD.replace("~/.ssh/raiden_ed25519", "keys/id"), tmp_path / "raiden.toml")
    assert inv.nodes[0].identity_file == str(tmp_path / "keys" / "id")


def test_example_written_by_init_is_a_valid_inventory(tmp_path: Path) -> None:
    inv = parse(example(), tmp_path / "raiden.toml")
    assert [n.host for n in inv.nodes] == ["pi1.local", "10.0.0.12", "10.0.0.13"]


def test_embedded_default_is_one_local_node_with_an_engine_per_core(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    inv = resolve(None)
    assert inv == embedded_default()
    (node,) = inv.nodes
    assert node.is_local and node.python == sys.executable and inv.controller_ip == "127.0.0.1"
    assert inv.engines_for(node, cores=6) == 6


def test_encryption_is_on_for_remote_nodes_unless_turned_off_with_a_warning(tmp_path: Path) -> None:
    remote = parse(GOOD, tmp_path / "raiden.toml")
    assert remote.encrypted and remote.plaintext_warning is None and remote.ports is None
    off = parse(
        GOOD.replace('name = "raiden"', 'name = "raiden"\nencrypt = false\nports = "10100-10139"'),
        tmp_path / "raiden.toml",
    )
    assert not off.encrypted and off.ports == (10100, 10139)
    assert off.plaintext_warning == (
        f"{tmp_path / 'raiden.toml'}:3: encrypt = false: the traffic between the head "
        "and pi1.local, 10.0.0.12 is not encrypted; anyone on that network can read "
        "it and send commands with the key it carries"
    )
    local = parse('[cluster]\nname = "laptop"\n[[nodes]]\nhost = "localhost"\n', tmp_path / "r.toml")
    assert not local.encrypted and local.plaintext_warning is None
    assert parse(
        '[cluster]\nname = "l"\nencrypt = true\n[[nodes]]\nhost = "localhost"\n', tmp_path / "r.toml"
    ).encrypted
    assert not embedded_default().encrypted


def test_memory_per_engine_is_for_every_node_or_one(tmp_path: Path) -> None:
    text = '[cluster]\nname = "l"\nmemory_per_engine = "1G"\n[[nodes]]\nhost = "localhost"\n[[nodes]]\nhost = "::1"\n'
    inv = parse(text + 'memory_per_engine = "200M"\n', tmp_path / "r.toml")
    assert [n.memory_per_engine for n in inv.nodes] == [1 << 30, 200 << 20]
    assert embedded_default().nodes[0].memory_per_engine is None  # no limit unless the inventory sets one


def test_local_only_inventory_needs_no_controller_ip(tmp_path: Path) -> None:
    inv = parse('[cluster]\nname = "laptop"\n[[nodes]]\nhost = "localhost"\nengines = 2\n', tmp_path / "r.toml")
    assert inv.controller_ip == "127.0.0.1" and inv.nodes[0].engines == 2


CLASS = '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\n[class]\n'
BAD = [
    # (description, file text, line, words the message must contain)
    ("class: unknown key", CLASS + "seat = 3\n", 7, ["unknown key 'seat' in [class]", "did you mean 'seats'"]),
    ("class: seat_user without {n}", CLASS + 'seat_user = "seat"\n', 7, ["seat_user 'seat'", "{n}"]),
    ("class: too few seats", CLASS + "seats = 0\n", 7, ["seats must be from 1 to 500, not 0"]),
    ("class: memory not a size", CLASS + 'memory_per_seat = "lots"\n', 7, ["memory_per_seat 'lots'", '"512M"']),
    ("class: too few processes", CLASS + "processes_per_seat = 2\n", 7, ["processes_per_seat must be from 16"]),
    (
        "node: memory per engine not a size",
        '[cluster]\nname = "a"\n[[nodes]]\nhost = "localhost"\nmemory_per_engine = "10M"\n',
        5,
        ["memory_per_engine '10M' is not a size of 64M or more", '"512M"'],
    ),
    (
        "class: ports too few for the seats",
        CLASS + 'seats = 4\nports = "10200-10259"\n',
        8,
        ["gives 60 ports; 4 seats need 80", '"10200-10279"'],
    ),
    (
        "unknown key with suggestion",
        '[cluster]\nname = "a"\n[[nodes]]\nhost = "h1"\nengins = 2\n',
        5,
        ["unknown key 'engins'", "did you mean 'engines'"],
    ),
    (
        "unknown cluster key",
        '[cluster]\nname = "a"\ncontroler_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\n',
        3,
        ["'controler_ip'", "did you mean 'controller_ip'"],
    ),
    (
        "unknown table",
        '[clusters]\nname = "a"\n[[nodes]]\nhost = "h1"\n',
        1,
        ["unknown table [clusters]; did you mean [cluster]?"],
    ),
    (
        "wrong type",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nengines = "4"\n',
        6,
        ["'engines' must be an integer", "a string"],
    ),
    (
        "boolean is not a port",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nport = true\n[[nodes]]\nhost = "h1"\n',
        4,
        ["'port' must be an integer"],
    ),
    (
        "duplicate host",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\n[[nodes]]\nhost = "h1"\n',
        7,
        ["host 'h1' is listed twice"],
    ),
    (
        "missing host",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\n[[nodes]]\nuser = "pi"\n',
        6,
        ["node 2 has no 'host'"],
    ),
    (
        "port out of range",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nport = 70000\n',
        6,
        ["port 70000 is out of range"],
    ),
    (
        "port zero",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nport = 0\n',
        6,
        ["port 0 is out of range"],
    ),
    (
        "zero engines",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nengines = 0\n',
        6,
        ["'engines' must be at least 1"],
    ),
    (
        "negative engines per node",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nengines_per_node = -2\n[[nodes]]\nhost = "h1"\n',
        4,
        ["'engines_per_node' must be at least 1"],
    ),
    (
        "cluster name with a path",
        '[cluster]\nname = "../etc"\n[[nodes]]\nhost = "localhost"\n',
        2,
        ["cluster name '../etc' is not a plain name"],
    ),
    (
        "cluster name with a space",
        '[cluster]\nname = "my cluster"\n[[nodes]]\nhost = "localhost"\n',
        2,
        ["is not a plain name"],
    ),
    (
        "host with shell characters",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "pi1;rm -rf ~"\n',
        5,
        ["host 'pi1;rm -rf ~' is not a hostname or IP address"],
    ),
    (
        "host that is an option",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "-oProxyCommand=x"\n',
        5,
        ["is not a hostname or IP address"],
    ),
    (
        "user with shell characters",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nuser = "pi$(id)"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["user 'pi$(id)' is not a plain user name"],
    ),
    (
        "controller ip not an address",
        '[cluster]\nname = "a"\ncontroller_ip = "head.local"\n[[nodes]]\nhost = "h1"\n',
        3,
        ["controller_ip 'head.local' is not an IP address"],
    ),
    (
        "remote nodes need a controller ip",
        '[cluster]\nname = "a"\n[[nodes]]\nhost = "pi1"\n',
        1,
        ["controller_ip is missing", "pi1"],
    ),
    (
        "loopback controller for remote nodes",
        '[cluster]\nname = "a"\ncontroller_ip = "127.0.0.1"\n[[nodes]]\nhost = "pi1"\n',
        3,
        ["loopback", "pi1 cannot reach"],
    ),
    ("no nodes", '[cluster]\nname = "a"\n', 1, ["no nodes"]),
    (
        "nodes not an array of tables",
        'nodes = ["pi1"]\n[cluster]\nname = "a"\n',
        1,
        ["'nodes' must be an array of tables"],
    ),
    (
        "labels not strings",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nlabels = [1]\n',
        6,
        ["label 1 must be"],
    ),
    (
        "shared work_dir",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\nwork_dir = "/w"\n'
        '[[nodes]]\nhost = "h2"\nwork_dir = "/w"\n',
        9,
        ["work_dir '/w' is also node 'h1'"],
    ),
    (
        "ports not a range",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nports = "10100"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["ports '10100' is not a range", '"FIRST-LAST"'],
    ),
    (
        "ports as a number",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nports = 10100\n[[nodes]]\nhost = "h1"\n',
        4,
        ["'ports' must be a port range like \"10100-10139\"", "an integer"],
    ),
    (
        "ports reversed",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nports = "10139-10100"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["the first no larger than the last"],
    ),
    (
        "privileged ports",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nports = "100-200"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["use ports from 1024 to 65535"],
    ),
    (
        "too few ports",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nports = "10100-10104"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["gives 5 ports; the controller needs at least 20", '"10100-10119"'],
    ),
    (
        "encrypt not a boolean",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nencrypt = "no"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["'encrypt' must be true or false", "a string"],
    ),
    (
        "host with a trailing newline",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "pi1\\n"\n',
        5,
        ["host 'pi1\\n' is not a hostname or IP address"],
    ),
    (
        "user with a trailing newline",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nuser = "pi\\n"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["user 'pi\\n' is not a plain user name"],
    ),
    (
        "name with a trailing newline",
        '[cluster]\nname = "a\\n"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "h1"\n',
        2,
        ["cluster name 'a\\n' is not a plain name"],
    ),
    (
        "IPv6 scope that writes an ssh_config line",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\n[[nodes]]\nhost = "fe80::1%eth0\\nProxyCommand sh"\n',
        5,
        ["is not a hostname or IP address"],
    ),
    (
        "identity_file with a carriage return",
        '[cluster]\nname = "a"\ncontroller_ip = "10.0.0.1"\nidentity_file = "/k\\rX"\n[[nodes]]\nhost = "h1"\n',
        4,
        ["'identity_file' must be a path"],
    ),
    (
        "power hook as one string",
        '[cluster]\nname = "a"\npower_on = "clusterctrl on p1"\n[[nodes]]\nhost = "localhost"\n',
        3,
        ["'power_on' must be a list of arguments", '["clusterctrl", "on", "p{slot}"]'],
    ),
    (
        "power hook with an unknown field",
        '[cluster]\nname = "a"\n[[nodes]]\nhost = "localhost"\npower_off = ["relay", "{host}"]\n',
        5,
        ["'power_off': {host} in '{host}' is not known", "{node}"],
    ),
    (
        "power hook with {slot} on a node without one",
        '[cluster]\nname = "a"\npower_on = ["clusterctrl", "on", "p{slot}"]\n[[nodes]]\nhost = "localhost"\n',
        4,
        ["node 'localhost': its power hooks use {slot}; give it a slot"],
    ),
    (
        "power_cycle_after not a duration",
        '[cluster]\nname = "a"\npower_cycle_after = "soon"\n[[nodes]]\nhost = "localhost"\n',
        3,
        ["power_cycle_after 'soon' is not a duration", '"2m"'],
    ),
    (
        "[[node]] for [[nodes]]",
        '[cluster]\nname = "a"\n\n[[node]]\nhost = "h1"\n',
        4,
        ["unknown table [[node]]; did you mean [[nodes]]?"],
    ),
    ("not TOML", '[cluster\nname = "a"\n', 1, ["not valid TOML"]),
    ("TOML error further down", '[cluster]\nname = "a"\n\n[[nodes]]\nhost = h1\n', 5, ["not valid TOML"]),
]


@pytest.mark.parametrize("text,line,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_inventory_names_file_and_line(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = tmp_path / "raiden.toml"
    with pytest.raises(InputError) as info:
        parse(text, path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert "\n" not in message
    for word in words:
        assert word in message


def test_cli_rejects_bad_inventory_with_one_line_and_exit_2(raiden, tmp_path: Path) -> None:
    path = raiden.cwd / "raiden.toml"
    path.write_text('[cluster]\nname = "a"\n[[nodes]]\nhost = "localhost"\nengins = 2\n')
    for command in ("doctor", "up", "status", "down"):
        ran = raiden(command)
        assert ran.code == 2, (command, ran)
        assert ran.err == f"{path.name}:5: unknown key 'engins' in [[nodes]]; did you mean 'engines'?\n"
        assert "Traceback" not in ran.err and ran.out == ""
    assert not raiden.home.joinpath("a").exists(), "bad input must change nothing"


def test_cli_missing_inventory_file(raiden) -> None:
    ran = raiden("status", "-i", "nope.toml")
    assert ran.code == 2
    assert ran.err.strip() == "nope.toml: no such inventory file; create one with `raiden init nope.toml`"


def test_cli_bad_arguments_are_one_line(raiden) -> None:
    ran = raiden("up", "--timeout", "soon")
    assert ran.code == 2 and len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err
    assert "soon" in ran.err


def test_a_bad_up_timeout_in_the_environment_is_one_line_and_starts_nothing(raiden) -> None:
    raiden.env["RAIDEN_UP_TIMEOUT"] = "soon"
    ran = raiden("up")
    assert ran.code == 2 and "Traceback" not in ran.err, ran
    assert ran.err == "RAIDEN_UP_TIMEOUT='soon': give the seconds `raiden up` waits for engines, a number above 0\n"
    assert not raiden.home.exists() or not list(raiden.home.rglob("supervisor.*")), "nothing may start"


def test_init_writes_an_example_and_never_overwrites(raiden) -> None:
    ran = raiden("init")
    assert ran.code == 0
    written = (raiden.cwd / "raiden.toml").read_text()
    assert written == example()
    (raiden.cwd / "raiden.toml").write_text("# mine\n")
    ran = raiden("init")
    assert ran.code == 2 and "already exists; pass --force" in ran.err
    assert (raiden.cwd / "raiden.toml").read_text() == "# mine\n"
    ran = raiden("doctor", "-i", "nowhere/raiden.toml")
    assert ran.code == 2
    # where it cannot write: one line each, nothing written
    for argv, said in (
        (["init", "/no/such/dir/raiden.toml"], "/no/such/dir/raiden.toml: the folder /no/such/dir does not exist"),
        (["init", str(raiden.cwd)], f"{raiden.cwd}: is a folder; give the file to write"),
    ):
        ran = raiden(*argv)
        assert ran.code == 2 and ran.err.startswith(said) and len(ran.err.splitlines()) == 1, ran
    ran = raiden("init", "-i", "mine.toml")  # -i, as every other command takes it
    assert ran.code == 0 and (raiden.cwd / "mine.toml").read_text() == example()


def test_version_help_and_json_errors(raiden) -> None:
    from raiden_lab import __version__

    ran = raiden("--version")
    assert ran.code == 0 and re.fullmatch(rf"raiden {re.escape(__version__)}\+[0-9a-f]{{12}}\n", ran.out), ran
    helped = raiden("--help").out
    assert "$RAIDEN_HOME" in helped and "3 the cluster (or class) is not running" in " ".join(helped.split())
    ran = raiden("status", "--json", "-i", "nope.toml")  # a program asked for JSON: its error is JSON too
    assert ran.code == 2 and json.loads(ran.out) == {
        "error": "nope.toml: no such inventory file; create one with `raiden init nope.toml`",
        "exit_code": 2,
    }
    assert raiden("restart", "localhost").code == 3  # not running: neither success nor a failed node


# -- launch modes ---------------------------------------------------------------------------------

SLURM = """\
[cluster]
name = "hpc"
launcher = "slurm"
controller_ip = "10.1.2.3"

[slurm]
partition = "short"
account = "physics101"
time_limit = "2:00:00"
engines = 32
sbatch_options = ["--mem-per-cpu=2G", "--constraint=avx2"]
"""


def test_slurm_and_mpi_settings_load_as_written(tmp_path: Path) -> None:
    inv = parse(SLURM, tmp_path / "hpc.toml")
    assert (inv.launcher, inv.nodes, inv.encrypted) == ("slurm", (), True)
    s = inv.settings
    assert (s.partition, s.account, s.time_limit, s.engines) == ("short", "physics101", "2:00:00", 32)
    assert s.sbatch_options == ("--mem-per-cpu=2G", "--constraint=avx2")
    mpi = parse(
        GOOD.replace('name = "raiden"', 'name = "raiden"\nlauncher = "mpi"').replace(
            'user = "alice"\n', 'user = "alice"\npython = "/home/pi/raiden/venv/bin/python"\n'
        )
        + '\n[mpi]\nmpiexec = "/opt/openmpi/bin/mpiexec"\nargs = ["--mca", "btl_tcp_if_include", "eth0"]\n',
        tmp_path / "mpi.toml",
    )
    assert (mpi.launcher, mpi.settings.mpiexec, mpi.settings.args) == (
        "mpi",
        "/opt/openmpi/bin/mpiexec",
        ("--mca", "btl_tcp_if_include", "eth0"),
    )
    assert parse(GOOD, tmp_path / "ssh.toml").launcher == "ssh"


@pytest.mark.parametrize(
    "text, line, message",
    [
        (
            SLURM.replace('partition = "short"', 'partiton = "short"'),
            7,
            "unknown key 'partiton' in [slurm]; did you mean 'partition'?",
        ),
        (
            SLURM.replace('controller_ip = "10.1.2.3"\n', ""),
            1,
            'controller_ip is missing in [cluster]; with launcher = "slurm" set it to this login node\'s address',
        ),
        (SLURM.replace("engines = 32", "engines = 0"), 10, "'engines' must be at least 1, not 0"),
        (SLURM.replace('"--mem-per-cpu=2G", ', '"", '), 11, "'sbatch_options' must be a list of non-empty strings"),
        (
            SLURM.replace('account = "physics101"', 'account = "physics; rm -rf ~"'),
            8,
            "account 'physics; rm -rf ~' is not a plain Slurm name",
        ),
        (
            SLURM.replace('launcher = "slurm"', 'launcher = "ssh"'),
            6,
            "a [slurm] table, but launcher is 'ssh'; set launcher = \"slurm\" in [cluster] or remove [slurm]",
        ),
        (
            SLURM.replace('controller_ip = "10.1.2.3"', 'controller_ip = "10.1.2.3"\nuser = "pi"'),
            5,
            "'user' is for SSH nodes; with launcher = \"slurm\" remove it",
        ),
    ],
)
def test_launch_mode_mistakes_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "hpc.toml"
    with pytest.raises(InputError) as e:
        parse(text, path)
    assert str(e.value).startswith(f"{path}:{line}: {message}")


def test_power_hooks_fill_node_and_slot_and_a_node_may_override_them(tmp_path: Path) -> None:
    inv = parse(
        '[cluster]\nname = "hat"\ncontroller_ip = "10.0.0.1"\npower_on = ["clusterctrl", "on", "p{slot}"]\n'
        'power_off = ["clusterctrl", "off", "p{slot}"]\npower_cycle_after = "2m"\npower_save_after = "90s"\n'
        '[[nodes]]\nhost = "p1.local"\nslot = 1\n'
        '[[nodes]]\nhost = "10.0.0.9"\nslot = "rack-2"\npower_on = ["/opt/pdu", "--outlet={slot}", "{node}"]\n',
        tmp_path / "raiden.toml",
    )
    first, second = inv.nodes
    assert first.power_command("on") == ["clusterctrl", "on", "p1"]
    assert first.power_command("status") is None
    assert second.power_command("on") == ["/opt/pdu", "--outlet=rack-2", "10.0.0.9"]
    assert second.power_command("off") == ["clusterctrl", "off", "prack-2"]
    assert inv.power_settings.cycle_after_s == 120 and inv.power_settings.save_after_s == 90
    assert inv.power_settings.cycle_tries == 3


def test_raiden_add_begins_the_inventory_from_nothing(raiden) -> None:
    """The box-of-Pis journey starts in an empty folder: the first `raiden add` writes raiden.toml (the head's
    address toward the Pi as controller_ip) before it asks the Pi anything; a Pi that cannot be reached then
    is one sentence, and the folder's inventory, nodes still to come, says what to do next."""
    password = raiden.cwd / "password"
    password.write_text("raspberry\n")
    password.chmod(0o600)
    fingerprint = "SHA256:" + "A" * 43
    ran = raiden("add", "127.0.0.2", "--password-file", str(password), "--fingerprint", fingerprint)
    assert ran.out.splitlines()[0] == (
        "[0/4] wrote raiden.toml: cluster 'raiden', controller_ip 127.0.0.1 (this head's address toward 127.0.0.2)"
    )
    assert ran.code == 1 and ran.err.strip() == (
        "raiden: 127.0.0.2: its SSH host key could not be read; is it on, on the network, with SSH enabled?"
    ), ran
    inventory = load(raiden.cwd / "raiden.toml", nodes_required=False)
    assert (inventory.name, inventory.controller_ip, inventory.nodes) == ("raiden", "127.0.0.1", ())
    status = raiden("status")
    assert status.code == 2 and status.err.strip() == (
        "raiden.toml:1: no nodes; add one with `raiden add HOST` (or a [[nodes]] table with a host for each machine)"
    ), status


def test_a_seat_runs_its_owners_python_not_one_in_its_own_home(tmp_path: Path) -> None:
    """Seats keep the nodes' ``python = "~/raiden/venv/bin/python"``: a seat account must find the owner's."""
    import subprocess

    from raiden_lab.classroom.seatinventory import seat_inventory
    from raiden_lab.transport.ssh import remote_command

    path = tmp_path / "raiden.toml"
    path.write_text(
        '[cluster]\nname = "room"\ncontroller_ip = "10.0.0.1"\nuser = "pi"\npython = "~/raiden/venv/bin/python"\n\n'
        '[class]\nseat_user = "raiden-seat{n}"\n\n[[nodes]]\nhost = "10.0.0.11"\n'
    )
    seat = seat_inventory(load(path), 1)
    assert [(n.user, n.python) for n in seat.nodes] == [("raiden-seat1", "~pi/raiden/venv/bin/python")]
    # as a node's shell reads the command line: the owner's home, expanded there; nothing else expands
    said = subprocess.run(["sh", "-c", "echo " + remote_command(["~root/raiden/venv/bin/python", "$HOME"])],
                          capture_output=True, text=True)  # fmt: skip
    assert said.stdout.split() == ["/root/raiden/venv/bin/python", "$HOME"]
    hostile = subprocess.run(["sh", "-c", "echo " + remote_command(["~root/$(id)", "~no one/x"])],
                             capture_output=True, text=True)  # fmt: skip
    assert hostile.stdout.split() == ["/root/$(id)", "~no", "one/x"]
