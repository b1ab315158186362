"""spark-submit entry point of the cleanup; bin/cleanup --spark builds its --plan."""

import sys

from jobrollup.spark.cleanup_job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
