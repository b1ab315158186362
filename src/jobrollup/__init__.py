"""jobrollup: nightly Spark rollups of job reports into time-tiered MongoDB documents."""

__version__ = "0.1.0"
