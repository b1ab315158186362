"""Plans written as SQL text: Spark parses and analyses a whole union of aggregations at once.

Built step by step with the DataFrame API (withColumn, unionByName, one DataFrame per view),
Spark analysed the wide plan of the aggregation again at every step: 3-4 s of every run,
whatever its size (issue 15).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from pyspark.sql import DataFrame


def query(frame: DataFrame, text_over: Callable[[str], str]) -> DataFrame:
    """The SQL `text_over(table)` gives, where `table` names `frame` (a temporary view, gone
    once Spark has analysed the query: no string is ever formatted into the text).

    A `frame` that was itself built by `query` and then persisted is not found in the cache
    by the new query (Spark 4.x): it is computed again. Checkpoint such a frame instead."""
    table = f"jobrollup_frame_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(table)
    try:
        return frame.sparkSession.sql(text_over(table))
    finally:
        frame.sparkSession.catalog.dropTempView(table)


def name(column: str) -> str:
    """A column name quoted for SQL."""
    return "`" + column.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
