#!/usr/bin/env bash
# Reproduce the measurements of docs/results.md in the current folder (MLflow store mlflow.db):
# the published presets over seeds, the timing against the plain Keras reference, the sweep
# criteria, the launcher comparison and the Optuna search. Takes about 40 minutes on 2 cores.
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=3

addexp-bench --only overhead --out benchmarks-overhead.md
addexp -m experiment=tutorial_seq2seq,tutorial_seq2seq_2020,tutorial_mapping_lstm,tutorial_mapping_mlp \
       seed=1,2,3 tracking.experiment=presets eval.show=0
addexp experiment=keras_addition_rnn tracking.experiment=presets eval.show=0
addexp-compare --experiment presets --group-by tags.preset
addexp-compare --experiment presets --group-by tags.preset --metric test/rmse

addexp -m seed=1,2 train.batch_size=10,32 tracking.experiment=sweep eval.show=0

common=(experiment=tutorial_seq2seq seed=1,2 train.batch_size=10,32,64,128 eval.show=0
        tracking.log_model=false)
time addexp -m "${common[@]}" tracking.experiment=basic
time addexp -m hydra/launcher=joblib hydra.launcher.n_jobs=2 "${common[@]}" tracking.experiment=joblib
addexp -m hparams_search=seq2seq_optuna tracking.experiment=optuna tracking.log_model=false eval.show=0
