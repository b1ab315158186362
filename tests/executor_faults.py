"""Faults at the n-th MongoDB write of an aggregation, wherever that write happens.

The aggregation's documents are written by Spark executors (Python workers: other processes),
its stale removals, ledger and journal by the driver. To kill a run at its n-th write, every
write, in any process, is numbered in one file (under a lock) before it is made: the driver's
writes through a patch of pymongo's Collection, the executors' through `FaultyWriter`, the
store's PartitionWriter with the same patch applied in the worker for the length of a partition.
This module is pickled by value, so the workers need nothing of tests/.

At the n-th write and after it, nothing more is written: on the driver `killed` (a
BaseException, as a SIGKILL, which no handler of ours tidies up) is raised; in an executor
`ExecutorKilled`, and Spark ends the job; the driver then sees the job's failure. With
`kill_server`, the n-th write SIGKILLs that MongoDB server first and then goes ahead.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from pymongo.collection import Collection
from pyspark import cloudpickle

from jobrollup.store.mongo import MongoStore, PartitionWriter

WRITES = ("bulk_write", "insert_many", "delete_many", "update_one", "update_many", "insert_one", "replace_one")
NEVER = 10**9


class ExecutorKilled(BaseException):
    """The kill, inside an executor."""


def record(log: str, kind: str) -> int:
    """Number a write (1, 2, ...) in the shared log, whatever process makes it."""
    with open(log, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        number = sum(1 for _ in handle) + 1
        handle.write(kind + "\n")
        handle.flush()
        return number


def numbered(real, name: str, log: str, kill_at: int, killed: type[BaseException], kill_server: int | None):
    """`real` (a Collection write method), numbering its calls (but to `runs`) in `log`; the
    `kill_at`-th and every later one raises `killed` (or the `kill_at`-th first kills the server
    `kill_server` and goes ahead)."""
    def write(self, *args, **kwargs):
        if self.name != "runs":
            number = record(log, f"{self.name}.{name}")
            if number >= kill_at:
                if kill_server is None:
                    raise killed(f"killed at write {number}")
                if number == kill_at:
                    os.kill(kill_server, signal.SIGKILL)
        return real(self, *args, **kwargs)
    return write


@contextmanager
def numbered_writes(log: str, kill_at: int, killed: type[BaseException], kill_server: int | None = None):
    """`numbered` on every write method of Collection, in this process, within the block."""
    real = {name: getattr(Collection, name) for name in WRITES}
    for name in WRITES:
        setattr(Collection, name, numbered(real[name], name, log, kill_at, killed, kill_server))
    try:
        yield
    finally:
        for name, method in real.items():
            setattr(Collection, name, method)


@dataclass(frozen=True)
class FaultyWriter(PartitionWriter):
    log: str = ""
    kill_at: int = NEVER
    kill_server: int | None = None

    def write(self, groups):
        with numbered_writes(self.log, self.kill_at, ExecutorKilled, self.kill_server):
            return super().write(groups)


class Faults:
    """The writes of the runs made while armed: `n` made (numbered) and their `kinds`."""

    def __init__(self, log: str):
        self.log = log

    @property
    def kinds(self) -> list[str]:
        with open(self.log) as handle:
            return handle.read().split()

    @property
    def n(self) -> int:
        return len(self.kinds) if os.path.exists(self.log) else 0


def arm(monkeypatch, log, kill_at: int = NEVER, killed: type[BaseException] = ExecutorKilled,
        kill_server: int | None = None) -> Faults:
    """Number every write of the aggregations run until `monkeypatch.undo()`, driver and
    executors, and kill at the `kill_at`-th (see the module's docstring)."""
    log = str(log)
    if os.path.exists(log):
        os.remove(log)
    open(log, "w").close()
    for name in WRITES:     # the driver's writes (undone by monkeypatch.undo())
        monkeypatch.setattr(Collection, name, numbered(getattr(Collection, name), name, log, kill_at, killed,
                                                       kill_server))
    monkeypatch.setattr(MongoStore, "partition_writer", lambda store, batch=1000, held=(): FaultyWriter(
        store.uri, store.database, store.timeout_ms, batch, frozenset(held), log=log, kill_at=kill_at,
        kill_server=kill_server))
    return Faults(log)


def was_killed(error: BaseException, killed: type[BaseException]) -> bool:
    """Whether a run ended by the kill: on the driver, or in an executor (Spark's job failure
    carries the worker's traceback)."""
    return isinstance(error, killed) or ExecutorKilled.__name__ in str(error)


cloudpickle.register_pickle_by_value(sys.modules[__name__])
