"""Who holds a claim, and whether that holder is known to be dead.

A holder is named `host/pid-namespace/pid/start-time`: the host by its kernel boot id (a reboot
is a new host: everything that ran before is dead), the process by its id within its PID
namespace (two containers on one host share the boot id, not the namespace) and by its start
time in clock ticks since boot (a reused pid is another process). Only a holder on this host and
in this namespace can be judged: if its pid is gone, or belongs to a process started at another
time, it is dead. Anything else is "not known dead" and waits for its lease to end.

Linux only (/proc); elsewhere the host is the hostname and no holder is ever known dead.
Written by hand: psutil would give the start time, but not the boot id or the namespace.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_PROC = Path("/proc")
_identity: tuple[int, str] | None = None  # (pid it was computed in, identity): fork-safe


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time); the command name (field 2) may hold spaces
    and parentheses, so count from the last ')'."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _host() -> str:
    boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        namespace = "-"
    return f"{boot or socket.gethostname()}/{namespace}"


def process_identity() -> str:
    """This process, as `host/namespace/pid/start`."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{_host()}/{pid}/{_start_ticks(pid) or '-'}")
    return _identity[1]


def known_dead(identity: str | None) -> bool:
    """True only when `identity` names a process on this host and namespace that is gone."""
    if not identity:
        return False
    rest, _, start = identity.rpartition("/")
    host, _, pid_text = rest.rpartition("/")
    if host != _host() or not pid_text.isdigit() or start == "-":
        return False
    current = _start_ticks(int(pid_text))
    return current is None or current != start
