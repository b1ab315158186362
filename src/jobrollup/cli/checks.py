"""What every command checks before it starts work (before Spark, before MongoDB is written):
option values in range, folders that can be written, files that can be read. A failed check
is a `UsageError`: exit code 2 and one `error:` line.

No Spark, no MongoDB and nothing of jobrollup but the exit codes here: the source generators
use these argument types too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
from pathlib import Path

from ..exits import INPUT, UsageError


class Parser(argparse.ArgumentParser):
    """argparse with the house's one-line refusal: `error: <what> (see <prog> --help)`, exit 2,
    instead of the usage block and a second line."""

    def error(self, message):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr, flush=True)
        sys.exit(INPUT)


# -- argument types (argparse `type=`): a bad value is refused while the arguments are parsed --

def share(text: str) -> float:
    """A share in [0, 1]: nan, infinities and values outside are refused (a share of nan would
    switch a refusal off)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def _integer(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, got {text!r}")
    return value


def count(text: str) -> int:
    """A whole number, 0 or more."""
    return _integer(text, 0)


def positive_count(text: str) -> int:
    """A whole number, 1 or more."""
    return _integer(text, 1)


def day(text: str) -> dt.date:
    """A calendar day, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def moment(text: str) -> dt.datetime:
    """A moment, ISO 8601."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time (ISO 8601): {text!r}") from None


# -- values that come from the configuration ----------------------------------------------------

def share_setting(value, what: str) -> float:
    """A share read from the configuration (or given by a caller), checked like the option."""
    try:
        return share(str(value))
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{what}: {error}") from None


def count_setting(value, what: str) -> int:
    """A whole number, 0 or more, read from the configuration."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{what}: must be a whole number, 0 or more, got {value!r}")
    return value


# -- the file system ---------------------------------------------------------------------------

def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _local(path: str) -> Path:
    return Path(path[len("file://"):] if path.startswith("file://") else path)


def writable_folder(path: str | os.PathLike, what: str, *, create: bool = True) -> None:
    """`path` is (or can be made) a folder this process can write into. With `create` the folder
    is made and a file is written and removed in it: the only proof that works for every user
    (root included) and every file system (read-only mounts, full disks). Without it (dry runs)
    nothing is touched: the nearest existing folder must allow writing. URIs (hdfs://...) are
    left to the job."""
    text = str(path)
    if not _is_local(text):
        return
    folder = _local(text)
    if not create:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(f"{what} {folder} cannot be made: {existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"{what} {folder} is not writable ({existing} does not allow writing)")
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".jobrollup-probe-"):
            pass
    except OSError as error:
        raise UsageError(f"{what} {folder} is not writable: {error.strerror or error}") from None


def writable_file(path: str | os.PathLike, what: str) -> None:
    """A file to be written: its folder must exist and allow writing; an existing folder of the
    same name is refused."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{what} {target} is a folder, not a file")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{what} {target}: folder {folder} not found")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".jobrollup-probe-"):
            pass
    except OSError as error:
        raise UsageError(f"{what} {target}: folder {folder} is not writable: {error.strerror or error}") from None


def readable_file(path: str | os.PathLike, what: str) -> None:
    target = Path(path)
    if not target.exists():
        raise UsageError(f"{what} not found: {target}")
    if not target.is_file():
        raise UsageError(f"{what} {target} is not a file")
    try:
        with open(target, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise UsageError(f"{what} {target} cannot be read: {error.strerror or error}") from None


def readable_folder(path: str | os.PathLike, what: str) -> None:
    target = Path(path)
    if not target.is_dir():
        raise UsageError(f"{what} not found: {target}" if not target.exists() else f"{what} {target} is not a folder")
    try:
        os.listdir(target)
    except OSError as error:
        raise UsageError(f"{what} {target} cannot be read: {error.strerror or error}") from None
