#!/usr/bin/env bash
# Reproduce the "Findings" table of docs/findings.md: every extension swept against its baseline
# over seeds 1-3 (one `addexp -m experiment=NAME` each), into the MLflow experiment "findings"
# of the current folder, then the comparison table per extension.
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=3
extensions=(ext_integer_encoding ext_masking ext_per_term_padding ext_reversal
            ext_variable_terms ext_operations ext_brackets)
for ext in "${extensions[@]}"; do
  addexp -m "experiment=$ext" tracking.experiment=findings tracking.log_model=false eval.show=0
done
for ext in "${extensions[@]}"; do
  echo
  echo "### $ext"
  addexp-compare --experiment findings --filter "tags.preset = '$ext'"
done
