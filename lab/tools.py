"""Can a lab run here, and the Debian packages it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

# Binaries the lab itself needs, whatever the scenarios.
BASE_TOOLS = ("ip", "tc", "ethtool", "sysctl", "cat")
# Binary -> Debian packages that provide it, best first (nginx-light is the
# small build; newer Debian releases only have "nginx").
PACKAGES: dict[str, tuple[str, ...]] = {
    "ip": ("iproute2",), "tc": ("iproute2",), "ethtool": ("ethtool",),
    "sysctl": ("procps",), "cat": ("coreutils",), "curl": ("curl",),
    "nginx": ("nginx-light", "nginx"), "aria2c": ("aria2",),
    "mktorrent": ("mktorrent",), "opentracker": ("opentracker",),
}
POLICY_RC = Path("/usr/sbin/policy-rc.d")
# Root's PATH normally has the sbin dirs; a CI job's may not.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def which(binary: str) -> str | None:
    return shutil.which(binary, path=SEARCH_PATH)


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True,
                          env=env, check=False, stdin=subprocess.DEVNULL)


def _has_candidate(package: str) -> bool:
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True,
                         text=True, check=False).stdout
    return "Candidate:" in out and "Candidate: (none)" not in out


def ensure_tools(binaries: Iterable[str] = ()) -> list[str]:
    """Install the Debian packages for any missing binary; return what was
    installed (empty if nothing was missing). Raises RuntimeError on failure.

    Package scripts must not start the services they ship (nginx, opentracker)
    in the host's namespace, listening on its addresses: a policy-rc.d that
    refuses every start is put in place for the install, unless the machine
    already has one.
    """
    missing = sorted({b for b in (*BASE_TOOLS, *binaries) if which(b) is None})
    if not missing:
        return []
    unknown = [b for b in missing if b not in PACKAGES]
    if unknown:
        raise RuntimeError(f"no known package provides {', '.join(unknown)}")
    print(f"[lab] missing {', '.join(missing)}: apt-get update", file=sys.stderr)
    if _apt("update").returncode != 0:
        raise RuntimeError("apt-get update failed")
    packages: list[str] = []
    for binary in missing:
        choices = PACKAGES[binary]
        pick = next((p for p in choices if _has_candidate(p)), choices[0])
        if pick not in packages:
            packages.append(pick)
    print(f"[lab] apt-get install {' '.join(packages)}", file=sys.stderr)
    own_policy = not POLICY_RC.exists()
    if own_policy:
        POLICY_RC.write_text("#!/bin/sh\n# p2pdist lab: no service starts during install\nexit 101\n")
        POLICY_RC.chmod(0o755)
    try:
        done = _apt("install", "-y", "--no-install-recommends", *packages)
    finally:
        if own_policy:
            POLICY_RC.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"apt-get install {' '.join(packages)} failed: {done.stderr[-800:]}")
    still = [b for b in missing if which(b) is None]
    if still:
        raise RuntimeError(f"installed {' '.join(packages)} but still missing {', '.join(still)}")
    return packages


def _probe(ns: str) -> None:
    def run(*argv: str) -> None:
        subprocess.run(argv, capture_output=True, text=True, check=True, timeout=20)

    run("ip", "netns", "add", ns)
    try:
        run("ip", "-n", ns, "link", "add", "name", "pa", "type", "veth", "peer", "name", "pb")
        run("ip", "-n", ns, "link", "add", "name", "pbr", "type", "bridge")
        run("tc", "-n", ns, "qdisc", "add", "dev", "pa", "root",
            "tbf", "rate", "1mbit", "burst", "10000", "limit", "20000")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def lab_possible() -> tuple[bool, str]:
    """(True, "") if a lab can be built here, else (False, why not)."""
    if not sys.platform.startswith("linux"):
        return False, f"network namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return False, "the lab needs root (network namespaces, tc)"
    for binary in ("ip", "tc"):
        if which(binary) is None:
            return False, f"{binary} (iproute2) is not installed"
    try:
        # A name outside the lab prefix: a lab starting at the same moment
        # must not purge the probe, nor the probe touch a lab.
        _probe(f"p2pprobe-{os.getpid()}")
    except subprocess.CalledProcessError as exc:
        cmd = " ".join(str(a) for a in exc.cmd)
        return False, f"{cmd} failed: {(exc.stderr or '').strip()}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot use network namespaces: {exc}"
    return True, ""
