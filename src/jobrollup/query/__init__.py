"""Ad hoc questions answered from the tiered documents in MongoDB, by idea:

- question:   a Query (span, filters, metrics, axes of one source), parsed from what people type;
- coverage:   which held buckets answer which sub-range of the span (one tier each, never twice);
- pipelines:  the MongoDB aggregation pipelines of one sub-range (pure);
- answer:     running them through the store and merging the results exactly;
- errors:     error-cluster questions (bin/query --errors);
- exit_codes: descriptions of exit codes;
- plots:      pictures of an answer (matplotlib).

No Spark anywhere here. The names most callers need are gathered below.
"""

from .answer import Rows, answer, answer_rows, derive, explain, held_buckets, merge_rows, suggest
from .coverage import Bucket, Coverage, Segment, cover, plan_coverage
from .errors import error_clusters
from .exit_codes import ENV_EXIT_CODES, UNKNOWN_CODE, describe_exit_codes, load_exit_codes
from .pipelines import group_stage, match_stages, pipelines
from .question import (PERCENTILES, STATISTICS, TIME_PREFIX, Filter, Metric, Query, QueryError,
                       canonical_key, parse_moment, query)

__all__ = [n for n in dir() if not n.startswith("_")]
