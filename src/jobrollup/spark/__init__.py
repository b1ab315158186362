"""Everything Spark: the session, the readers, the aggregation and its job, and the harnesses
on both sides of spark-submit (submit: the command's side; job: the job's side). Only
`submit` may be imported without pyspark."""
