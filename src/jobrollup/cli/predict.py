"""bin/predict: predict build outcomes, advise on failures, score environments
(see jobrollup.models)."""

from __future__ import annotations

import sys

from .models import predict_main as main

if __name__ == "__main__":
    sys.exit(main())
