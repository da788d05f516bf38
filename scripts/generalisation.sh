#!/usr/bin/env bash
# Reproduce docs/generalisation.md: the five length-study presets over seeds 1-3 into the MLflow
# experiment "length_study" of the current folder, a wider beam on the same runs of the decoders
# that read their own answers, then the tables.
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=3
addexp -m experiment=length_repeat,length_repeat_reversed,length_teacher_forcing,length_attention,length_aligned \
  seed=1,2,3 tracking.experiment=length_study eval.show=0 train.progress=off
for run in $(python - <<'PY'
import mlflow
mlflow.set_tracking_uri("sqlite:///mlflow.db")
runs = mlflow.search_runs(
    experiment_names=["length_study"],
    filter_string="attributes.status = 'FINISHED' and params.model.beam_width = '1'",
)
print(" ".join(runs.run_id))
PY
); do
  # a fresh draw from the training space ("trained"), greedy; then every set with a beam of 4
  addexp-eval --run "$run" '+eval.sets.trained={}'
  addexp-eval --run "$run" eval=length_study '+eval.sets.trained={}' model.beam_width=4
done
sets="test digits_5 digits_10 digits_20 digits_50 digits_100"
addexp-compare --experiment length_study --group-by tags.preset \
  --metric $(for s in $sets; do printf '%s/exact_match ' "$s"; done)
# greedy and beam 4, set by set, on the runs of the two decoders that read their own answers
addexp-compare --experiment length_study --group-by tags.preset \
  --filter "params.model.beam_width IS NOT NULL" \
  --metric $(for s in trained ${sets#test }; do printf '%s/exact_match beam4/%s/exact_match ' "$s" "$s"; done)
