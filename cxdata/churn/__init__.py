"""Churn: leakage-free labels and features at cutoffs, a calibrated classifier, value at risk and segments.

- `cxdata.churn.labels`: `plan_cutoffs`, `churn_labels` (no kept order in horizon_days after a cutoff);
- `cxdata.churn.features`: `ChurnInputs`, `build_features` (the one builder for training and scoring);
- `cxdata.churn.model`: `ChurnClassifier` ("hgb" calibrated gradient boosting, "logit" RFM baseline);
- `cxdata.churn.evaluate`: `churn_metrics`, `calibration_png`, `importances`;
- `cxdata.churn.train`: `train` (holdout evaluation against the baselines, then the final fit);
- `cxdata.churn.score`: `score_churn` / `score_features` (probability, percentile, top three reasons);
- `cxdata.churn.segments`: `assign_segments`, `segment_members`, `segment_summary`, `summary_png`;
- `cxdata.churn.reads`: the facts of a shard or of a bucket sample of the customers, read in the warehouse;
- `cxdata.churn.step`: `churn_step` (the warehouse step, after `cxdata.clv.step.clv_step`), `value_step`;
- `cxdata.churn.sharded`: the value step (CLV then churn) as per-shard, global and assemble steps.
"""
