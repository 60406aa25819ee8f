"""Stage 5: scoring — stride accuracy, rollouts, cost, reports (``gnnbench score``)."""

# 2.1: submissions run sandboxed, cost timed on the scoring calls; RDF and CNA through OVITO.
# 3.0: dataset 2.1 (targets at 0.1 fs); Verlet k = 2, 8; force calls matched; time to failure, VDOS,
# NVE temperature; the usability verdict (score/usability.py)
# 3.0.x: additions that change no number keep the version: the model file's format and a model's own
# timestep (scores.json submission.format, submission.model_strides_fs; absent: torchscript or built-in, any Δt)
SCORER_VERSION = "3.0.0"
SCORES_SCHEMA_VERSION = "3.0"
