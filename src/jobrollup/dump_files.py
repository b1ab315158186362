"""Which files of a dump folder are read, and about how much they hold: no Spark here, so that
the commands can size a run's input before they start Spark (spark.readers reads the files)."""

from __future__ import annotations

import os

from . import config

JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet",)
AVRO_SUFFIXES = (".avro",)
DUMP_SUFFIXES = JSON_SUFFIXES + PARQUET_SUFFIXES + AVRO_SUFFIXES

# Compressed JSON lines hold about this many times their size (generated FWJR: 4.5).
GZ_RATIO = 4


def is_hidden(name: str) -> bool:
    """_SUCCESS, .crc and hidden files: never read."""
    return name.startswith((".", "_"))


def input_size(folders: list[str]) -> int | None:
    """About how many bytes of records the dump files under the local `folders` hold (.gz
    files counted at GZ_RATIO times their size); None when one of them is not local (HDFS...).
    Missing folders hold nothing."""
    total = 0
    for folder in folders:
        if not config.is_local(folder):
            return None
        for parent, _, names in os.walk(config.local_path(folder)):
            for name in names:
                if is_hidden(name) or not name.endswith(DUMP_SUFFIXES):
                    continue
                try:
                    size = os.stat(os.path.join(parent, name)).st_size
                except OSError:
                    continue
                total += size * (GZ_RATIO if name.endswith(".gz") else 1)
    return total
