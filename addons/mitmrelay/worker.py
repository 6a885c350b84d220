"""Worker processes: native code that reads untrusted input runs outside mitmproxy's process.

A JavaScript engine running a PAC file (chain/pac.py), pyspnego and the system's GSSAPI reading a
proxy's NTLM or Negotiate challenge (chain/proxyauth.py), libxmlsec1 signing a recorded SOAP
request again (soap/sign.py): a crash, a hang or a heap of theirs must not be the proxy's. Each
runs in a worker process, and this module is how every one of them is run:

- `python -I SCRIPT ARGS...` (no PYTHONPATH, no user site, not the script's folder: the script
  puts the folders it is given on its path) with the least environment it needs: the names the
  caller lists, never the hop's ${SECRET} variables (credentials travel in a request);
- one JSON object a line each way over its pipes;
- a deadline per exchange, kept from out here: a worker that is late is killed, whatever the
  native code inside it is doing;
- a worker that dies, or is killed, is a `WorkerDied` whose text says how (`the authentication
  worker process died (SIGKILL)`); `Shared` starts a new one at the next use.

Usage:
    shared = Shared(Command(SCRIPT, tuple(folders), ("PATH",), "signing worker"))
    generation, reply = shared.ask({"sign": ...}, 5.0)    # blocking: from a thread, not the loop
    shared.close()
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)

MAX_REPLY_BYTES = 256 << 10
# Python's start-up and the imports of native libraries, on a busy machine: added to the deadline
# of a new worker's first exchange.
START_SECONDS = 10.0


class WorkerDied(Exception):
    """The worker process ended, or was killed for being late, before it answered."""


class ReplyTooLong(Exception):
    """The worker's reply is longer than its bound; the rest stays out of this process."""


def package_folders(*names: str) -> list[str]:
    """The folders the top-level packages `names` import from here, each once, in the order of
    this process's path; names that do not import here are left out. Put first on a worker's
    path, they make it import what this process would, from where it would (a package hidden
    by an earlier folder stays hidden). Found without importing: no native code is loaded here."""
    folders: list[str] = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        folder = str(origin.parent.parent if origin.name == "__init__.py" else origin.parent)
        if folder not in folders:
            folders.append(folder)
    order = {folder: n for n, folder in reversed(list(enumerate(map(os.path.abspath, sys.path))))}
    return sorted(folders, key=lambda folder: order.get(os.path.abspath(folder), len(order)))


class Command(NamedTuple):
    """How a worker is started: `python -I script *args` with the environment variables named in
    env (those set here), called `name` in messages, its replies bounded by max_reply bytes."""

    script: Path
    args: tuple[str, ...]
    env: tuple[str, ...]
    name: str
    max_reply: int = MAX_REPLY_BYTES


class Worker:
    """One running worker process; its exchanges are blocking calls, one at a time."""

    def __init__(self, command: Command) -> None:
        self.name = command.name
        self.max_reply = command.max_reply
        kept = {key: os.environ[key] for key in command.env if key in os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(command.script), *command.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a native library's chatter may hold what it was given
            env=kept,
        )
        self.killed_late = False
        self.answered = False  # it has answered once: started, imports done

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """The worker's reply to request; WorkerDied when it is late (then killed) or dead,
        ReplyTooLong when its reply passes max_reply (the caller then closes it)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        watchdog = threading.Timer(deadline, self._kill_late)
        watchdog.start()
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline(self.max_reply)
        except OSError:
            line = b""
        finally:
            watchdog.cancel()
        if len(line) >= self.max_reply and not line.endswith(b"\n"):
            raise ReplyTooLong(f"an answer longer than {self.max_reply >> 10} KiB")
        if not line.endswith(b"\n"):  # none, or cut short: it died (or was killed) meanwhile
            raise WorkerDied(self.why())
        self.answered = True
        return dict(json.loads(line))

    def _kill_late(self) -> None:
        self.killed_late = True
        self.process.kill()

    def why(self) -> str:
        """How the process ended, in words; waits for it (killing one that lingers)."""
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:  # closed its output but lingers: ended from here
            self.process.kill()
            code = self.process.wait()
        if self.killed_late:
            return f"the {self.name} did not answer within its time bound and was killed"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the {self.name} process died ({signal.Signals(-code).name})"
        return f"the {self.name} process died (exit status {code})"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class Shared:
    """One worker for one purpose: started at its first use and reused; after a death, a new one
    at the next use. One exchange at a time; blocking: call it from a thread, not the event loop.

    `generation` counts the workers started: state a request leaves in a worker (an
    authentication context) is gone when the generation it was made in is no longer running."""

    def __init__(self, command: Command, start_seconds: float = START_SECONDS) -> None:
        self.name = command.name
        self._command = command
        self._start_seconds = start_seconds
        self._lock = threading.Lock()
        self._running: list[Worker] = []  # none or one; a list the finalizer can hold
        self._death = f"the {command.name} process died"  # how the last one ended
        self.generation = 0
        weakref.finalize(self, _close_all, self._running)

    @property
    def busy(self) -> bool:
        """An exchange is under way (another caller would wait for it)."""
        return self._lock.locked()

    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id (None before the first use or after a death)."""
        running = self._running
        return running[0].pid if running else None

    def ask(
        self, request: dict[str, Any], deadline: float, generation: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        """The generation that answered and its reply. With generation: only that worker may
        answer (it holds the request's state); WorkerDied when it is gone."""
        with self._lock:
            worker = self._running[0] if self._running else None
            if worker is not None and worker.process.poll() is not None:
                self._death = worker.why()
                self._stop()
                worker = None
                if generation != self.generation:  # nothing of this request was in it
                    logger.warning(f"{self._death} between uses; a new one is started")
            if generation is not None and (worker is None or generation != self.generation):
                raise WorkerDied(self._death)
            if worker is None:
                worker = Worker(self._command)
                self._running.append(worker)
                self.generation += 1
            if not worker.answered:
                deadline += self._start_seconds
            try:
                return self.generation, worker.ask(request, deadline)
            except WorkerDied as e:
                self._death = str(e)
                self._stop()
                raise
            except ReplyTooLong:
                self._stop()
                raise

    def _stop(self) -> None:
        _close_all(self._running)

    def close(self) -> None:
        """End the worker now; the next use starts a new one."""
        with self._lock:
            self._stop()


def _close_all(running: list[Worker]) -> None:
    while running:
        running.pop().close()
