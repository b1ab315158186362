"""spack error records (JSON lines) -> one record per error line, for both Spark jobs.

- `error_records`: the one parser: lines -> package, spec hash, kind, phase, source file and the
  whole log line (`message`), or a reject reason. Every field is read as text, as for FWJR.
- `job_records`: the aggregation's normaliser: the same records with their `template` (the
  clustering's normaliser, jobrollup.errors.messages, a plain Python UDF pickled by value) and
  an empty `cluster`.
- `with_clusters`: the aggregation's annotator: each template's cluster from the clustering
  registry (a template keeps its cluster for ever, so this is the cluster bin/cluster-errors
  gave the same errors).
- `errors_to_cluster`: the clustering job's extractor: the same records as messages.
"""

from __future__ import annotations

import warnings

from pyspark import cloudpickle
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ...errors import messages
from ...errors.job import template_id, with_templates
from ...spark import readers
from . import SCOPE_KEYS

TS_MIN, TS_MAX = 946684800, 4102444800  # [2000-01-01, 2100-01-01)
CORRUPT = "_corrupt"
HASH = r"^[a-z2-7]{32}$"   # spack's hashes: 32 characters of lower-case base32
RECORD = T.StructType([T.StructField(k, T.StringType()) for k in
                       ("ts", "package", "hash", "kind", "phase", "source_file", "text", "pre_context",
                        "post_context")] + [T.StructField(CORRUPT, T.StringType())])
_PARSE_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}

cloudpickle.register_pickle_by_value(messages)
with warnings.catch_warnings():  # plain UDFs: the type hints are not pandas UDF hints
    warnings.simplefilter("ignore", UserWarning)
    _whole_line = F.udf(messages.spack_message, T.StringType())


def error_records(lines: DataFrame) -> DataFrame:
    """Lines (`value`, `file`) -> reject_reason, rejected_line, file, ts, package, spec_hash, kind,
    phase, source_file, message (null for a rejected line)."""
    lines = readers.without_blank_lines(lines)
    r = F.from_json("value", RECORD, _PARSE_OPTIONS)
    parsed = lines.select("value", "file", *readers.LINE_FACTS, r.alias("r"))
    r = F.col("r")
    spec_hash = F.trim(r["hash"])
    ts = _finite(r["ts"])
    reason = (
        readers.too_large_reason()
        .when(r.isNull() | r[CORRUPT].isNotNull(),
               F.when(F.expr("try_parse_json(value)").isNull(), F.lit("malformed_json"))
               .otherwise(F.lit("wrong_type")))
        .when(F.coalesce(F.trim(r["package"]), F.lit("")) == "", F.lit("missing_package"))
        .when(F.coalesce(spec_hash, F.lit("")) == "", F.lit("missing_hash"))
        .when(~spec_hash.rlike(HASH), F.lit("malformed_hash"))
        .when(F.coalesce(F.trim(r["text"]), F.lit("")) == "", F.lit("empty_error_text"))
        .when(r["ts"].isNull(), F.lit("missing_ts"))
        .when(ts.isNull() | (ts < TS_MIN) | (ts >= TS_MAX), F.lit("bad_ts"))
    )
    good = reason.isNull()
    return parsed.select(
        reason.alias("reject_reason"),
        F.when(~good, F.col("value")).alias("rejected_line"),
        "file", *readers.LINE_FACTS,
        F.timestamp_seconds(ts).alias("ts"),
        _text(r["package"]).alias("package"),
        spec_hash.alias("spec_hash"),
        F.coalesce(F.lower(_text(r["kind"])), F.lit("error")).alias("kind"),
        # spack writes "N/A" when it does not know the phase
        F.when(F.upper(_text(r["phase"])) != "N/A", _text(r["phase"])).alias("phase"),
        _source_file(r["source_file"]).alias("source_file"),
        F.when(good, _whole_line(r["text"], r["pre_context"], r["post_context"])).alias("message"),
    )


def job_records(lines: DataFrame) -> DataFrame:
    """The aggregation's records: one per error line with its template; a message with nothing
    to cluster (binary, or nothing left once cleaned) is rejected with its reason."""
    records = with_templates(error_records(lines))
    problem = F.col("problem")
    reason = F.coalesce(
        F.col("reject_reason"),
        F.when(problem == "binary", F.lit("binary_error_text"))
        .when(F.col("template").isNull(), F.lit("empty_error_text")))
    return records.select(
        reason.alias("reject_reason"),
        F.when(reason.isNotNull(), F.coalesce("rejected_line", F.substring("message", 1, 65536))).alias("rejected_line"),
        "file", *readers.LINE_FACTS, "ts",
        *[F.lit(None).cast("long").alias(k) if k == "cluster" else F.col(k) for k in SCOPE_KEYS])


def with_clusters(spark: SparkSession, store, records: DataFrame) -> DataFrame:
    """`cluster` from the registry for each distinct template of the records (a small map,
    broadcast); null for a template the clustering has not learnt yet."""
    templates = [row["template"] for row in records.where(F.col("template").isNotNull())
                 .select("template").distinct().collect()]
    by_id = store.clusters_of_templates([template_id(t) for t in templates])
    known = [(t, by_id[template_id(t)]) for t in templates if template_id(t) in by_id]
    mapping = spark.createDataFrame(known, "template string, _cluster long")
    return (records.drop("cluster").join(F.broadcast(mapping), "template", "left")
            .withColumnRenamed("_cluster", "cluster"))


def errors_to_cluster(spark: SparkSession, files: readers.InputFiles) -> DataFrame:
    """The clustering job's rows (`kind` error or reject, ts, message, package, file,
    reject_reason, rejected_line) from the same parser."""
    records = error_records(readers.read_lines(spark, files))
    return records.select(
        F.when(F.col("reject_reason").isNull(), F.lit("error")).otherwise(F.lit("reject")).alias("kind"),
        "ts", "message", "package", "file", "reject_reason", "rejected_line")


def _text(value: Column) -> Column:
    return F.nullif(F.trim(value), F.lit(""))


def _source_file(value: Column) -> Column:
    """spack writes a list ([null] when unknown): its first known file; a plain string as is
    (trimmed, as every scope value)."""
    text = F.trim(value)
    listed = F.try_element_at(F.filter(F.from_json(text, "array<string>"), lambda x: x.isNotNull()), F.lit(1))
    return F.nullif(F.trim(F.when(text.startswith("["), listed).otherwise(text)), F.lit(""))


def _finite(text: Column) -> Column:
    number = F.trim(text).try_cast("double")
    return F.when(~F.isnan(number) & (F.abs(number) != float("inf")), number)
