"""Build-outcome models of spack builds (issue 14): predict, explain, advise, score environments.

Modules, one idea each:

- features: feature tables (compats/labels), version order, spec files as feature rows
- folds: honest splits (spec groups never straddle train and test)
- estimators: small scikit-learn classifiers (majority, categorical naive Bayes, boosted
  trees, logistic regression), each encoding inside fit
- outcomes: BuildOutcomeModel, per-package models plus a shared fallback, with thresholds
- baselines: the published naive Bayes baseline, reproduced as it was computed
- metrics: accuracy, balanced accuracy, ROC AUC, Brier, reliability curve
- experiments: train/evaluate/record experiments (var/models/NAME)
- predict, advise, environments: what bin/predict does
- cli: argument parsing of bin/train and bin/predict

Nothing here imports the rest of jobrollup.
"""
