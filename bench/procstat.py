"""CPU time and memory of a process tree, read from /proc (Linux only).

The bench charges a configuration only for its relay processes (mitmdump, or the socat processes and
their forks), never for the proxies, the origin or the load client, so /proc is read per pid tree.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Self

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may contain spaces: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """root and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # exited while we looked
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU of every process in the trees, including children they have reaped.

    socat forks a child per connection; once reaped, its time moves into the parent's cutime/cstime,
    so counting utime+stime+cutime+cstime of the live processes counts every fork exactly once.
    """
    ticks = 0
    for root in roots:
        for pid in tree(root):
            try:
                fields = _stat_fields(pid)
            except OSError:
                continue
            # Fields 14-17 of proc(5): utime stime cutime cstime (index 11-14 after the name).
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / TICK


def rss_bytes(roots: list[int]) -> int:
    """Resident memory summed over the trees (shared pages of forks count in each: upper bound)."""
    total = 0
    for root in roots:
        for pid in tree(root):
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            except (OSError, IndexError):
                continue
    return total


def pss_bytes(roots: list[int]) -> int:
    """Proportional memory summed over the trees: a page shared by n forks counts 1/n in each, so a
    socat chain's thousand forks are not charged a thousand times for one OpenSSL."""
    total = 0
    for root in roots:
        for pid in tree(root):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            except (OSError, IndexError, ValueError):
                continue
    return total


class PeakRss:
    """Samples rss_bytes(roots) in a thread until stopped; `peak` is the highest sample."""

    def __init__(self, roots: list[int], interval: float = 0.05) -> None:
        self.roots = roots
        self.peak = rss_bytes(roots) if roots else 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, rss_bytes(self.roots))

    def __enter__(self) -> Self:
        if self.roots:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
