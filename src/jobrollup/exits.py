"""Exit codes of every command, for cron to alert on, and the failures that map to them.

No Spark and no MongoDB here: every command, the Spark jobs and the tests share this one table.
"""

from __future__ import annotations

OK = 0
FAILED = 1        # unexpected error: see the log
INPUT = 2         # bad arguments, missing input folder, unreadable format
REFUSED = 3       # the input cannot be trusted (too many rejected lines): nothing written
MONGO = 4         # MongoDB unreachable, refused the login, or stopped answering mid-run
BUSY = 5          # another live run is writing the same window

MEANING = {
    OK: "done",
    FAILED: "unexpected failure (see the log)",
    INPUT: "bad arguments or input",
    REFUSED: "refused (too much rejected input; nothing written)",
    MONGO: "MongoDB unreachable, login refused, or lost mid-run",
    BUSY: "another live run writes this window",
}


def epilog_line() -> str:
    """The exit-code line of every command's --help."""
    return "exit codes: " + ", ".join(f"{code} {text}" for code, text in MEANING.items())


class UsageError(ValueError):
    """Bad arguments, configuration or input: one line, exit code 2."""


class InputError(UsageError):
    """The input cannot be read as asked (a missing folder, a format the cluster lacks)."""


class RunRefused(RuntimeError):
    """The input cannot be trusted; nothing was written (exit code 3)."""


class MongoUnavailable(RuntimeError):
    """MongoDB cannot be reached; nothing was written (exit code 4)."""


class WindowBusy(RuntimeError):
    """Another live run is writing the same window (exit code 5)."""


def code_of(error: BaseException) -> int:
    """The exit code a failure ends a command with."""
    for kind, code in ((InputError, INPUT), (UsageError, INPUT), (RunRefused, REFUSED),
                       (MongoUnavailable, MONGO), (WindowBusy, BUSY)):
        if isinstance(error, kind):
            return code
    return FAILED
