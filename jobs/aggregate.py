"""spark-submit entry point of the aggregation; bin/aggregate builds its --plan."""

import sys

from jobrollup.spark.aggregate_job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
