"""``raiden wheelhouse``: the wheels every node needs, downloaded on the head, for nodes without internet.

The preflight tells each node's CPU, Python and C library; for each different one, pip
downloads the head's exact versions of what engines need (``provision.head_requirements``)
as wheels for that platform, with their dependencies. ``raiden provision --wheelhouse
DIR`` then copies the folder over SSH and installs from it. A package with no wheel for a
node's platform is named, with what to do, before anything is installed.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config.inventory import Inventory
from ..config.paths import ClusterPaths
from ..transport import ssh
from ..transport.nodes import NodeReport, target_for
from .provision import head_requirements

Say = Callable[[str], None]
OLDEST_GLIBC = 17  # manylinux2014


@dataclass(frozen=True)
class Platform:
    arch: str
    python: str  # "3.11"
    glibc: int  # the minor version: 36 for glibc 2.36

    @property
    def text(self) -> str:
        return f"{self.arch}, Python {self.python}, glibc 2.{self.glibc}"

    def pip_options(self) -> list[str]:
        tags = [f"manylinux_2_{minor}_{self.arch}" for minor in range(self.glibc, OLDEST_GLIBC - 1, -1)]
        if self.arch in ("x86_64", "aarch64", "i686", "ppc64le", "s390x", "armv7l"):
            tags.append(f"manylinux2014_{self.arch}")
        options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python]
        options += ["--abi", f"cp{self.python.replace('.', '')}"]
        for tag in tags:
            options += ["--platform", tag]
        return options


def platform_of(report: NodeReport) -> Platform | None:
    if not (report.arch and report.python):
        return None
    python = ".".join(report.python.split(".")[:2])
    found = re.fullmatch(r"glibc-2\.(\d+)", report.libc or "")
    return Platform(report.arch, python, int(found.group(1)) if found else OLDEST_GLIBC)


async def base_platform(inventory: Inventory, paths: ClusterPaths, host: str) -> Platform | None:
    """A node whose environment does not exist yet (a fresh Pi): ask its ``python3``, which provisioning uses."""
    target = target_for(inventory.node(host), paths)
    if not (await ssh.ensure_master(target)).ok:
        return None
    asked = await ssh.run(target, ["python3", "-I", "-c", _ASK_PLATFORM], timeout=60)
    try:
        arch, python, libc = json.loads(asked.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return platform_of(NodeReport(host=host, arch=arch, python=python, libc=libc))


_ASK_PLATFORM = "import json, platform; print(json.dumps([platform.machine(), platform.python_version(), '-'.join(platform.libc_ver())]))"


async def download(folder: Path, platform: Platform, requirements: list[str], say: Say) -> str | None:
    """pip download for one platform; None, or the sentence naming what has no wheel there."""
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "-d", str(folder)]
    proc = await asyncio.create_subprocess_exec(
        *argv, *platform.pip_options(), *requirements, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode == 0:
        return None
    text = err.decode(errors="replace")
    missing = re.search(r"satisfies the requirement ([^\s(]+)", text)
    if missing:
        return (
            f"{missing.group(1)} has no wheel for {platform.text} on the package index; build one on such a "
            f"node (`pip wheel {missing.group(1)} -w wheels`) and put it in {folder}, or give that node internet "
            "and run `raiden provision` without --wheelhouse"
        )
    last = [line for line in text.splitlines() if line.strip()][-1:] or ["no output"]
    return f"pip download for {platform.text} failed: {last[0]}; is the package index reachable from the head?"


async def build(
    inventory: Inventory, paths: ClusterPaths, folder: Path, reports: list[NodeReport], say: Say
) -> tuple[dict, list[str]]:
    """Fill ``folder`` for every node that answered the preflight; (the manifest, problems)."""
    extra = inventory.mode.node_packages(inventory)
    requirements = head_requirements(extra)
    platforms: dict[Platform, list[str]] = {}
    problems = []
    for report in reports:
        platform = platform_of(report) or await base_platform(inventory, paths, report.host)
        if platform is None:
            problems.append(f"{report.host}: not reached, so its platform is unknown; it gets no wheels")
            continue
        platforms.setdefault(platform, []).append(report.host)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"requirements": requirements, "platforms": []}
    for platform, hosts in platforms.items():
        say(f"downloading wheels for {platform.text} ({', '.join(hosts)})")
        if problem := await download(folder, platform, requirements, say):
            problems.append(problem)
            continue
        manifest["platforms"].append({"arch": platform.arch, "python": platform.python, "nodes": hosts})
    manifest["files"] = sorted(p.name for p in folder.glob("*.whl"))
    (folder / "wheelhouse.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest, problems
