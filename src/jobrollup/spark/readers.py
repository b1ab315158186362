"""Reading dumps: date-partitioned folders ROOT/YYYY/MM/DD/ of JSON lines, Parquet or Avro.

Folders are found through Hadoop's FileSystem API, so a local path, file://, hdfs:// or any URI
the cluster's Spark reads all work the same way. Local folders are walked with the operating
system instead, because Hadoop's local listing follows symbolic links blindly (a link back into
the tree is a loop that lists the same files again and again) and says nothing of a dangling one.
Every format is turned into one DataFrame of (`value`: the report as JSON text, `file`), so that
one parser sees every report, whatever it was stored as.

A file that cannot be read (a truncated .gz, a corrupt Parquet file, one that vanished or cannot
be opened) is not a reason to lose the night: `unreadable_files` reads the rest, and what could be
read of the bad file, and names it (see spark/aggregate_job.py).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..dump_files import AVRO_SUFFIXES, DUMP_SUFFIXES, JSON_SUFFIXES, PARQUET_SUFFIXES, is_hidden
from ..exits import InputError
from .sql_text import literal, name as sql_name

# Why a listed path is not read; each is recorded in the run summary and in `runs`.
DANGLING = "dangling symlink"
LOOP = "symlink back into the tree"
DUPLICATE = "same file as"        # followed by the path read instead
EMPTY = "empty file"
UNREADABLE_FILE = "unreadable_file"   # the reject reason of a file or folder that cannot be read

# Columns the reader adds to every line (with_line_facts) and the normalisers carry along.
LINE_FACTS = ("line_bytes", "too_large", "invalid_utf8")
# One more, for the normalisers alone (without_blank_lines): the line holds only JSON whitespace.
BLANK = "blank"
BOM = "\ufeff"
JSON_WHITESPACE = " \t\r\n"


@dataclass
class InputFiles:
    json: list[str] = field(default_factory=list)
    parquet: list[str] = field(default_factory=list)
    avro: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)      # (path, why): nothing to read
    unreadable: list[tuple[str, str]] = field(default_factory=list)   # (path, error): set aside

    @property
    def count(self) -> int:
        return len(self.json) + len(self.parquet) + len(self.avro)

    @property
    def all(self) -> list[str]:
        return self.json + self.parquet + self.avro

    def without(self, paths: set[str]) -> "InputFiles":
        keep = lambda kind: [p for p in kind if p not in paths]
        return InputFiles(keep(self.json), keep(self.parquet), keep(self.avro), self.ignored,
                          self.skipped, self.unreadable)

    def as_dict(self) -> dict:
        return {"json": len(self.json), "parquet": len(self.parquet), "avro": len(self.avro),
                "ignored": self.ignored[:20],
                "skipped": [{"path": p, "why": why} for p, why in self.skipped[:100]],
                "unreadable": [{"path": p, "error": e} for p, e in self.unreadable[:100]]}


def _filesystem(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def local_path(path: str) -> str | None:
    """The operating-system path of a local path or file: URI; None for other schemes."""
    if "://" not in path and not path.startswith("file:"):
        return os.path.abspath(path)
    parsed = urlparse(path)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def folder_exists(spark: SparkSession, path: str) -> bool:
    local = local_path(path)
    if local is not None:
        return os.path.isdir(local)
    hadoop_path, fs = _filesystem(spark, path)
    return bool(fs.exists(hadoop_path)) and bool(fs.getFileStatus(hadoop_path).isDirectory())


def list_files(spark: SparkSession, folders: list[str]) -> InputFiles:
    """The dump files in `folders` (recursively), sorted by kind from their names; each file once.

    A file reached twice (two folders, a hard or symbolic link) is read once; a link that leads
    back into a folder already walked is not followed; dangling links, empty files and folders
    that cannot be listed are recorded, not read.
    """
    found = InputFiles()
    seen_files: dict[tuple[int, int], str] = {}
    seen_folders: set[tuple[int, int]] = set()
    for folder in folders:
        local = local_path(folder)
        entries = (_walk_local(local, seen_folders, found) if local is not None
                   else _walk_hadoop(spark, folder, found))
        for text, name, identity, size in entries:
            if is_hidden(name):
                continue
            if not name.endswith(DUMP_SUFFIXES):
                found.ignored.append(text)
                continue
            if identity in seen_files:
                found.skipped.append((text, f"{DUPLICATE} {seen_files[identity]}"))
                continue
            seen_files[identity] = text
            if size == 0:
                found.skipped.append((text, EMPTY))
            elif name.endswith(JSON_SUFFIXES):
                found.json.append(text)
            elif name.endswith(PARQUET_SUFFIXES):
                found.parquet.append(text)
            else:
                found.avro.append(text)
    for kind in (found.json, found.parquet, found.avro):
        kind.sort()
    return found


def _walk_local(root: str, seen_folders: set, found: InputFiles):
    """(path, name, identity, size) of the files under `root`, following symbolic links to
    folders not walked yet; problems go to `found`."""
    try:
        info = os.stat(root)
    except OSError as error:
        found.unreadable.append((root, _os_error(error)))
        return
    seen_folders.add((info.st_dev, info.st_ino))
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                # links last: a file reached by its own name and by a link is read by its name
                entries = sorted(listing, key=lambda e: (e.is_symlink(), e.name))
        except OSError as error:
            found.unreadable.append((folder, _os_error(error)))
            continue
        for entry in entries:
            try:
                info = entry.stat()  # follows links
            except OSError as error:
                if entry.is_symlink() and not os.path.exists(entry.path):
                    found.skipped.append((entry.path, f"{DANGLING} to {os.readlink(entry.path)}"))
                else:
                    found.unreadable.append((entry.path, _os_error(error)))
                continue
            identity = (info.st_dev, info.st_ino)
            if stat.S_ISDIR(info.st_mode):
                if identity in seen_folders:
                    if entry.is_symlink():
                        found.skipped.append((entry.path, f"{LOOP} ({os.path.realpath(entry.path)})"))
                    continue
                seen_folders.add(identity)
                pending.append(entry.path)
            elif not stat.S_ISREG(info.st_mode):
                if entry.name.endswith(DUMP_SUFFIXES):
                    # a FIFO or device would block or never end: never handed to Spark
                    found.unreadable.append((entry.path, "not a regular file (a FIFO, socket or device)"))
            elif (problem := _cannot_open(entry)) is not None:
                found.unreadable.append((entry.path, problem))
            else:
                yield entry.path, entry.name, identity, info.st_size


def _walk_hadoop(spark: SparkSession, folder: str, found: InputFiles):
    """(path, name, identity, size) of the files under a Hadoop URI; the path is the identity."""
    hadoop_path, fs = _filesystem(spark, folder)
    try:
        files = fs.listFiles(hadoop_path, True)
        while files.hasNext():
            status = files.next()
            path = status.getPath()
            text = path.toString()
            yield text, path.getName(), ("uri", text), status.getLen()
    except Exception as error:  # AccessControlException and the like, through py4j
        found.unreadable.append((folder, _first_line(str(error))))


def _cannot_open(entry: os.DirEntry) -> str | None:
    """Why a dump file cannot be opened (permission denied...), or None. Opening costs
    microseconds locally and spares Spark a task failure."""
    if is_hidden(entry.name) or not entry.name.endswith(DUMP_SUFFIXES):
        return None
    try:
        os.close(os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        return _os_error(error)
    return None


def _os_error(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "unreadable"


def read_lines(spark: SparkSession, files: InputFiles, options: dict | None = None) -> DataFrame:
    """All records of `files` as (`value` JSON text, `file`): the reader of line-based sources."""
    parts = []
    reader = spark.read.options(**(options or {}))
    if files.json:
        # Text, not spark.read.json: a malformed line must reach the rejects file as it was.
        lines = reader.text(files.json)
        parts.append(lines.select("value", F.col("_metadata.file_path").alias("file")))
    if files.parquet:
        parts.append(_as_json_text(reader.parquet(*files.parquet)))
    if files.avro:
        try:
            avro = spark.read.format("avro").load(files.avro)
        except Exception as error:  # AnalysisException: spark-avro is not on this cluster
            if "avro" in str(error).lower() and "data source" in str(error).lower():
                raise InputError(
                    f"{len(files.avro)} Avro file(s) found but this Spark has no spark-avro "
                    "(add --packages org.apache.spark:spark-avro_2.13:<spark version> where the "
                    "cluster provides it, or convert the dumps to JSON lines or Parquet)") from None
            raise
        parts.append(_as_json_text(avro))
    if not parts:
        return spark.createDataFrame([], "value string, file string")
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _as_json_text(frame: DataFrame) -> DataFrame:
    # Columnar records go through the same text parser as JSON lines: one set of rules.
    return frame.select(
        F.to_json(F.struct(*[F.col(f"`{c}`") for c in frame.columns])).alias("value"),
        F.col("_metadata.file_path").alias("file"),
    )


# -- facts about each line, before any parsing -----------------------------------------------

def with_line_facts(lines: DataFrame, max_bytes: int, keep_chars: int) -> DataFrame:
    """`lines` with its size in bytes, whether it passes `max_bytes` (`too_large`: only its
    first `keep_chars` characters are kept, for the rejects file), whether the UTF-8
    decoder replaced bytes in it (`invalid_utf8`) and whether it is blank (BLANK). A
    byte-order mark opening a line goes: it is not part of the JSON text."""
    # Spark's text reader keeps a line's bytes as they are: bytes that are not UTF-8 are found
    # here and replaced by U+FFFD, so that the parser, the rejects file and MongoDB see text.
    # The size and the check are computed once, in a projection of their own (a column used
    # twice would be computed twice if the projections were merged).
    facts = lines.select("value", "file", F.octet_length("value").alias("line_bytes"),
                         F.expr(f"NOT {utf8_valid('value')}").alias("invalid_utf8"), _blank("value").alias(BLANK))
    value, size, invalid = F.col("value"), F.col("line_bytes"), F.col("invalid_utf8")
    return facts.select(
        F.when(size > max_bytes, F.substring(value, 1, keep_chars))
        .when(invalid, F.make_valid_utf8(F.regexp_replace(value, f"^{BOM}", "")))
        .when(value.startswith(BOM), F.substring(value, 2, 1 << 30))
        .otherwise(value).alias("value"),
        "file",
        size.alias("line_bytes"),
        (size > max_bytes).alias("too_large"),
        F.coalesce(invalid, F.lit(False)).alias("invalid_utf8"),
        BLANK,
    )


def _blank(column: str) -> Column:
    """Whether the line holds nothing but JSON whitespace, after a byte-order mark opening it.
    Judged on the line as read: the replacement of bytes that are not UTF-8 (never whitespace)
    does not change it, and a line too large is judged whole, not by the characters kept."""
    value = F.col(column)
    quoted = sql_name(column)
    text = f"CASE WHEN startswith({quoted}, {literal(BOM)}) THEN substring({quoted}, 2, {1 << 30}) ELSE {quoted} END"
    # Trimming given characters copies the whole line: only lines that open with one are
    # trimmed (a report opens with "{"). SQL's TRIM(BOTH ... FROM ...): F.trim(text, chars)
    # is Spark's deprecated two-argument form, which warned in the log of every run.
    trimmed = F.expr(f"trim(BOTH {literal(JSON_WHITESPACE)} FROM {text})")
    return F.when(F.substring(value, 1, 1).isin("", BOM, *JSON_WHITESPACE), trimmed == "").otherwise(False)


def utf8_valid(text: str) -> str:
    """SQL: whether the string column `text` holds valid UTF-8, as is_valid_utf8 says, at about
    a third of its cost (200k generated lines of 3 kB: 0.4 against 1.3 CPU s).

    Making a Java string of the bytes replaces what is not UTF-8 by U+FFFD, and writing it back
    gives the same bytes exactly when they were valid (the JDK's decoder and Spark's check both
    follow the Unicode standard: no overlong forms, surrogates or code points past U+10FFFF).
    The JDK does both steps with its vector instructions where a line is ASCII, whereas
    is_valid_utf8 walks the bytes one by one."""
    return f"(format_string('%s', {text}) = {text})"


def without_blank_lines(lines: DataFrame) -> DataFrame:
    """`lines` (`value`, `file`) with the line-fact columns, those a caller did not add
    neutral, and without blank lines: the first step of every normaliser.

    The filter reads the BLANK fact, not the text kept: a filter on `value` is pushed below
    with_line_facts, and it made Spark compute the UTF-8 check of every line twice."""
    if not all(c in lines.columns for c in LINE_FACTS):
        lines = lines.select("value", "file", F.octet_length("value").alias("line_bytes"),
                             F.lit(False).alias("too_large"), F.lit(False).alias("invalid_utf8"))
    if BLANK not in lines.columns:
        lines = lines.withColumn(BLANK, _blank("value"))
    return lines.where(~F.col(BLANK)).select("value", "file", *LINE_FACTS)


def too_large_reason() -> Column:
    """The first reject check of every normaliser: a line over the size limit is not parsed."""
    return F.when(F.col("too_large"), F.lit("too_large"))


# -- files that cannot be read ------------------------------------------------------------------

_FAILED_FILE = re.compile(r"\[FAILED_READ_FILE[.\w]*\][^\n]*?reading file (.+?)\.?\s+SQLSTATE")
_FAILED_FILE_LOOSE = re.compile(r"\[FAILED_READ_FILE[.\w]*\][^\n]*?reading file (\S+?)\.?(?:\s|$)")
_CAUSE = re.compile(r"Caused by: ([^\n]+)")
_VANISHED = re.compile(r"\[PATH_NOT_FOUND\] Path does not exist: (\S+?)\.?(?:\s|$)")


def failed_file(error: BaseException) -> tuple[str, str] | None:
    """(file, cause) when `error` is Spark failing to read one file, else None."""
    text = str(error)
    vanished = _VANISHED.search(text)
    if vanished:  # listed, then gone before Spark planned the read (moved by an archiver...)
        return vanished.group(1), "the file vanished after it was listed"
    match = _FAILED_FILE.search(text) or _FAILED_FILE_LOOSE.search(text)
    if not match:
        return None
    causes = [c for c in _CAUSE.findall(text) if "FAILED_READ_FILE" not in c]
    cause = causes[-1].strip() if causes else _first_line(text)
    return match.group(1), cause[:300]


def same_file(a: str, b: str) -> bool:
    """Whether two spellings of a path (plain, file:/, file:///) name one file."""
    if a == b:
        return True
    la, lb = local_path(a), local_path(b)
    return la is not None and la == lb


def readable_part(spark: SparkSession, path: str, parquet: bool) -> DataFrame:
    """The lines of a file that failed, up to where it fails: with the read options
    ignoreCorruptFiles and ignoreMissingFiles Spark keeps what it read before the error (a
    truncated .gz gives its whole lines; a Parquet file whose footer is gone gives nothing)."""
    files = InputFiles(json=[] if parquet else [path], parquet=[path] if parquet else [])
    try:
        return read_lines(spark, files, {"ignoreCorruptFiles": "true", "ignoreMissingFiles": "true"})
    except Exception:  # Parquet without a footer: not even a schema to read
        return spark.createDataFrame([], "value string, file string")
