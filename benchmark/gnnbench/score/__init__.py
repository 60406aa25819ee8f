"""Stage 5: scoring — stride accuracy, rollouts, cost, reports (``gnnbench score``)."""

SCORER_VERSION = "2.1.0"  # 2.1: submissions run sandboxed, cost timed on the scoring calls; RDF and CNA through OVITO
SCORES_SCHEMA_VERSION = "2.0"
