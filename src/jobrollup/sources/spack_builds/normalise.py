"""From build-record JSON lines to job records (the spack_builds normaliser): pure DataFrame ->
DataFrame of Spark SQL expressions, no Python UDFs.

As for FWJR, every field is parsed as a string (Spark keeps the raw JSON text of any value), so
a value of the wrong type never fails a whole line; numbers are taken with try_cast.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ...spark import readers
from . import SCOPE_KEYS, SOURCE, STATUSES

TS_MIN, TS_MAX = 946684800, 4102444800  # [2000-01-01, 2100-01-01)
CORRUPT = "_corrupt"
_FIELDS = ("ts", *SCOPE_KEYS, *(metric for _, metric, _ in SOURCE.metric_columns))
BUILD = T.StructType([T.StructField(name, T.StringType()) for name in dict.fromkeys(_FIELDS)]
                     + [T.StructField(CORRUPT, T.StringType())])
_PARSE_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}


def job_records(lines: DataFrame) -> DataFrame:
    """Lines (`value`, `file`) -> one record per build, rejected lines kept with their reason."""
    lines = readers.without_blank_lines(lines)
    parsed = lines.select("value", "file", *readers.LINE_FACTS, F.from_json("value", BUILD, _PARSE_OPTIONS).alias("b"))
    b = F.col("b")
    status = F.lower(F.trim(b["status"]))
    ts = _finite(b["ts"])
    reason = (
        readers.too_large_reason()
        .when(b.isNull() | b[CORRUPT].isNotNull(),
               F.when(F.expr("try_parse_json(value)").isNull(), F.lit("malformed_json"))
               .otherwise(F.lit("wrong_type")))
        .when(F.coalesce(F.trim(b["package"]), F.lit("")) == "", F.lit("missing_package"))
        .when(~F.coalesce(status.isin(*STATUSES), F.lit(False)), F.lit("unknown_status"))
        .when(b["ts"].isNull(), F.lit("missing_ts"))
        .when(ts.isNull() | (ts < TS_MIN) | (ts >= TS_MAX), F.lit("bad_ts"))
    )
    records = parsed.select("value", "file", *readers.LINE_FACTS, "b", reason.alias("reject_reason"))
    b = F.col("b")
    status = F.lower(F.trim(b["status"]))
    return records.select(
        "reject_reason",
        F.when(F.col("reject_reason").isNotNull(), F.col("value")).alias("rejected_line"),
        "file", *readers.LINE_FACTS,
        F.timestamp_seconds(_finite(b["ts"])).alias("ts"),
        *[_key(b[key]).alias(key) for key in SCOPE_KEYS if key != "status"],
        status.alias("status"),
        (status == "success").cast("long").alias("successes"),
        (status == "failed").cast("long").alias("failures"),
        *[_finite(b[metric]).alias(column) for _, metric, column in SOURCE.metric_columns],
    ).select("reject_reason", "rejected_line", "file", *readers.LINE_FACTS, "ts", *SCOPE_KEYS, *SOURCE.counters,
             *[column for _, _, column in SOURCE.metric_columns])


def _key(text: Column) -> Column:
    """A scope value: trimmed text, empty as null."""
    return F.nullif(F.trim(text), F.lit(""))


def _finite(text: Column) -> Column:
    number = F.trim(text).try_cast("double")
    return F.when(~F.isnan(number) & (F.abs(number) != float("inf")), number)
