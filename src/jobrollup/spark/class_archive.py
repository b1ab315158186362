"""The JVM's class-data-sharing archive of local runs: Spark's start-up, paid once per machine.

Before a local run reads its first line, the driver JVM loads, parses and verifies the classes
of Spark, Hadoop and Scala (issue 15).
Java's dynamic class-data sharing (AppCDS, JEP 350) keeps them ready in a file the JVM maps:
the first local run with a given Java and set of Spark jars saves the classes it loaded
(`-XX:ArchiveClassesAtExit`, about half a minute more, once), and later runs map them
(`-XX:SharedArchiveFile`). Measured on the sample day, three paired runs on a quiet machine:
median 35.9 s wall and 42.2 CPU s without, 32.7 s and 39.5 CPU s with.

An archive of another Java, of other jars, damaged or cut short, only loses that time: the JVM
checks the archive's header and ignores what it cannot map (`-Xshare:auto`, its default). The
archive is written under a name of its own and renamed once its run has succeeded, so a run
never maps one that another run is still writing. Only local masters: on a cluster, the
driver's classes are a small part of a run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

# The JVM's notes about classes it cannot archive (signed jars, generated classes) are for JVM
# developers: hundreds of lines that would bury a run's own messages.
QUIET = "-Xlog:cds*=off"
STALE_S = 24 * 3600   # an unfinished archive older than this belongs to a run that was killed


@dataclass(frozen=True)
class Archive:
    path: Path              # the archive runs map
    saving: Path | None     # where this run saves it, when it does not exist yet

    @property
    def java_options(self) -> str:
        flag = f"-XX:ArchiveClassesAtExit={self.saving}" if self.saving else f"-XX:SharedArchiveFile={self.path}"
        return f"{flag} {QUIET}"

    def keep(self, succeeded: bool) -> bool:
        """After the run: keep the archive it saved (when it succeeded); True when one was kept."""
        if self.saving is None or not self.saving.exists():
            return False
        if succeeded and self.saving.stat().st_size > 0:
            os.replace(self.saving, self.path)
            return True
        self.saving.unlink(missing_ok=True)
        return False


def java_program() -> Path | None:
    """The java that spark-submit starts: $JAVA_HOME/bin/java, or the first on the PATH."""
    if os.environ.get("JAVA_HOME"):
        candidate = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
        return candidate if candidate.exists() else None
    found = shutil.which("java")
    return Path(found) if found else None


def fingerprint(java: Path, spark_jars: Path) -> str:
    """What an archive is only good for: this java binary and these jars (names, sizes, times)."""
    digest = hashlib.sha256()
    real = java.resolve()
    stat = real.stat()
    digest.update(f"{real}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    for jar in sorted(spark_jars.glob("*.jar")):
        jar_stat = jar.stat()
        digest.update(f"{jar.name}:{jar_stat.st_size}:{jar_stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def for_run(folder: str | os.PathLike, spark_jars: Path, master: str) -> Archive | None:
    """The archive a run on `master` maps or saves under `folder`; None when there is none to use
    (a cluster master, no java found, an unwritable folder)."""
    java = java_program()
    if not master.startswith("local") or java is None or not spark_jars.is_dir():
        return None
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
        path = folder / f"spark-{fingerprint(java, spark_jars)}.jsa"
        if path.exists():
            return Archive(path, None)
        for old in folder.glob("*.saving"):
            if time.time() - old.stat().st_mtime > STALE_S:
                old.unlink(missing_ok=True)
        saving = folder / f"{path.stem}.{os.getpid()}.saving"
        saving.unlink(missing_ok=True)
    except OSError:
        return None
    return Archive(path, saving)
