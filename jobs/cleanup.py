"""spark-submit entry point of the cleanup (bin/cleanup --spark submits it)."""

import sys

from jobrollup.cli.cleanup import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
