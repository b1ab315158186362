"""spark-submit entry point of the error clustering; bin/cluster-errors builds its --plan."""

import sys

from jobrollup.errors.job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
