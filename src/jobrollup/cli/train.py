"""bin/train: train build-outcome models on spack feature tables (see jobrollup.models)."""

from __future__ import annotations

import sys

from .models import train_main as main

if __name__ == "__main__":
    sys.exit(main())
