"""Worker processes (mitmrelay/worker.py), with a real worker script: the least environment, the
isolated path, the deadline kept by killing, a death said in words, a new worker after one."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import pytest
from mitmrelay import worker
from mitmrelay.testing import running, wait_for
from mitmrelay.worker import Command, Shared, Worker, WorkerDied

SCRIPT = """
import json, os, sys, time
for line in sys.stdin:
    request = json.loads(line)
    time.sleep(request.get("sleep", 0))
    if request.get("exit") is not None:
        os._exit(request["exit"])
    reply = {"env": sorted(os.environ), "path": sys.path[:2], "pid": os.getpid()}
    print(json.dumps(reply) + "x" * request.get("pad", 0), flush=True)
"""


@pytest.fixture
def command(tmp_path, monkeypatch) -> Command:
    script = tmp_path / "echo_worker.py"
    script.write_text(SCRIPT)
    monkeypatch.setenv("MITMRELAY_TEST_SECRET", "hop-password")
    env = ("PATH", "LANG", "NOT_SET_ANYWHERE")
    return Command(script, ("/first", "/second"), env, "test worker")


@pytest.fixture
def shared(command):
    started = Shared(command, start_seconds=5.0)
    yield started
    started.close()


def test_the_worker_gets_only_the_named_environment_and_no_path_of_ours(shared):
    _, reply = shared.ask({}, 5.0)
    assert set(reply["env"]) <= {"PATH", "LANG", "LC_CTYPE"}  # LC_CTYPE: Python's C locale coercion
    assert "MITMRELAY_TEST_SECRET" not in reply["env"]
    assert reply["pid"] == shared.worker_pid != os.getpid()
    assert str(Path.cwd()) not in reply["path"]  # -I: neither the current folder nor PYTHONPATH


def test_one_worker_serves_every_use(shared):
    first, reply = shared.ask({}, 5.0)
    second, again = shared.ask({}, 5.0)
    assert first == second == shared.generation == 1
    assert reply["pid"] == again["pid"]


def test_a_late_worker_is_killed_and_a_new_one_answers_next(shared):
    shared.ask({}, 5.0)
    pid = shared.worker_pid
    with pytest.raises(WorkerDied, match=r"^the test worker did not answer within its time bound"):
        shared.ask({"sleep": 30}, 0.5)
    assert shared.worker_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed, and waited for
    generation, reply = shared.ask({}, 5.0)
    assert generation == 2 and reply["pid"] != pid


def test_a_death_during_an_exchange_says_how(shared):
    with pytest.raises(WorkerDied, match=r"^the test worker process died \(exit status 3\)$"):
        shared.ask({"exit": 3}, 5.0)


def test_state_of_a_dead_worker_is_not_asked_of_the_next(shared, caplog):
    generation, _ = shared.ask({}, 5.0)
    os.kill(shared.worker_pid, signal.SIGKILL)
    with pytest.raises(WorkerDied, match=r"^the test worker process died \(SIGKILL\)$"):
        shared.ask({}, 5.0, generation)
    caplog.set_level(logging.WARNING)
    newer, _ = shared.ask({}, 5.0)  # a request holding no state: a new worker answers
    assert newer == generation + 1
    with pytest.raises(WorkerDied, match=r"\(SIGKILL\)"):
        shared.ask({}, 5.0, generation)  # still gone: the new worker does not hold it


def test_a_worker_that_died_between_uses_is_replaced_with_a_warning(shared, caplog):
    shared.ask({}, 5.0)
    pid = shared.worker_pid
    os.kill(pid, signal.SIGKILL)
    # SIGKILL is asynchronous: ended before the next use, so it died between uses, not in one
    wait_for(lambda: not running(pid), what="the killed worker ended")
    caplog.set_level(logging.WARNING)
    generation, _ = shared.ask({}, 5.0)
    assert generation == 2
    assert "the test worker process died (SIGKILL) between uses; a new one is started" in (
        caplog.text
    )


def test_a_reply_past_its_bound_ends_the_worker(command):
    small = Worker(command._replace(max_reply=1024))
    try:
        with pytest.raises(worker.ReplyTooLong, match="longer than 1 KiB"):
            small.ask({"pad": 4096}, 5.0)
    finally:
        small.close()


def test_package_folders_keep_this_process_order_and_skip_what_does_not_import():
    folders = worker.package_folders("lxml", "no_such_package_here", "pytest", "lxml")
    assert len(folders) == len(set(folders)) >= 1
    order = [os.path.abspath(p) for p in sys.path]
    assert folders == sorted(folders, key=lambda f: order.index(os.path.abspath(f)))
