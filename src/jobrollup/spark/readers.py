"""Reading dumps: date-partitioned folders ROOT/YYYY/MM/DD/ of JSON lines, Parquet or Avro.

Folders are found through Hadoop's FileSystem API, so a local path, file://, hdfs:// or any URI
the cluster's Spark reads all work the same way. Every format is turned into one DataFrame of
(`value`: the report as JSON text, `file`), so that one parser (records.parse_reports) sees
every report, whatever it was stored as.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..exits import InputError

JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet",)
AVRO_SUFFIXES = (".avro",)


@dataclass
class InputFiles:
    json: list[str] = field(default_factory=list)
    parquet: list[str] = field(default_factory=list)
    avro: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.json) + len(self.parquet) + len(self.avro)

    def as_dict(self) -> dict:
        return {"json": len(self.json), "parquet": len(self.parquet), "avro": len(self.avro),
                "ignored": self.ignored[:20]}


def _filesystem(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def folder_exists(spark: SparkSession, path: str) -> bool:
    hadoop_path, fs = _filesystem(spark, path)
    return bool(fs.exists(hadoop_path)) and bool(fs.getFileStatus(hadoop_path).isDirectory())


def list_files(spark: SparkSession, folders: list[str]) -> InputFiles:
    """The dump files in `folders` (recursively), sorted by kind from their names."""
    found = InputFiles()
    for folder in folders:
        hadoop_path, fs = _filesystem(spark, folder)
        files = fs.listFiles(hadoop_path, True)
        while files.hasNext():
            path = files.next().getPath()
            name = path.getName()
            text = path.toString()
            if name.startswith((".", "_")):  # _SUCCESS, .crc and hidden files
                continue
            if name.endswith(JSON_SUFFIXES):
                found.json.append(text)
            elif name.endswith(PARQUET_SUFFIXES):
                found.parquet.append(text)
            elif name.endswith(AVRO_SUFFIXES):
                found.avro.append(text)
            else:
                found.ignored.append(text)
    for kind in (found.json, found.parquet, found.avro):
        kind.sort()
    return found


def read_lines(spark: SparkSession, files: InputFiles) -> DataFrame:
    """All records of `files` as (`value` JSON text, `file`): the reader of line-based sources."""
    parts = []
    if files.json:
        # Text, not spark.read.json: a malformed line must reach the rejects file as it was.
        lines = spark.read.text(files.json)
        parts.append(lines.select("value", F.col("_metadata.file_path").alias("file")))
    if files.parquet:
        parts.append(_as_json_text(spark.read.parquet(*files.parquet)))
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
