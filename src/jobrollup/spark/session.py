"""The SparkSession every job uses, with the settings correctness depends on."""

from __future__ import annotations

from pyspark.sql import SparkSession


def spark_session(app_name: str = "jobrollup") -> SparkSession:
    """The session, with UTC fixed whatever the profile says (buckets are UTC)."""
    spark = (SparkSession.builder.appName(app_name)
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark
