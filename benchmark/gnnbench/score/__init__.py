"""Stage 5: scoring — stride accuracy, rollouts, cost, reports (``gnnbench score``)."""

SCORER_VERSION = "2.0.0"
SCORES_SCHEMA_VERSION = "2.0"
