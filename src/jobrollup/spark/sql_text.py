"""Plans written as SQL text: Spark parses and analyses a whole union of aggregations at once.

Built step by step with the DataFrame API (withColumn, unionByName, one DataFrame per view),
Spark analysed the wide plan of the aggregation again at every step: 3-4 s of every run,
whatever its size (issue 15).
"""

from __future__ import annotations

from pyspark.sql import DataFrame


def query(frame: DataFrame, text: str) -> DataFrame:
    """`text` run over `frame`, which it names `{frame}`; other braces are SQL's own."""
    escaped = text.replace("{", "{{").replace("}", "}}").replace("{{frame}}", "{frame}")
    return frame.sparkSession.sql(escaped, frame=frame)


def name(column: str) -> str:
    """A column name quoted for SQL."""
    return "`" + column.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
