"""spark-submit entry point of the aggregation; bin/aggregate builds its --plan."""

import sys

from jobrollup.pipeline import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
