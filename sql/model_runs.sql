-- model_runs: every trained model, one row per run, appended; failed runs are recorded too.
--
-- grain: one row per trained model (model_run_id)
--
-- Built by cxdata.model_runs.model_run for the CLV and churn fits of the value step (kinds clv and churn;
-- churn's own columns are null on clv rows and the clv-only ones null on churn rows) and for the
-- touchpoint step (kind touchpoints). Every row has every column. Nested values are JSON text so
-- that DuckDB and PostgreSQL store them alike. A run is reproducible from its
-- data window, config_json and seed. CLV and churn refit on a cadence (models.refit_every_days,
-- cxdata/model_store.py): a fit row (mode fit) has its fitted models in model_artifacts, and the runs in
-- between write a score row (mode score) that carries the fit's columns and points to it. Touchpoints
-- follow the same cadence: a computation is a fit row; a run in between keeps its published figures and
-- writes a kept row (mode kept) that carries the computation's columns, data window and counts.

comment on table model_runs is 'Every trained model: version, data window, calibration/holdout split, parameters, log-likelihood, holdout metrics, every fit attempt, seed. Primary key: model_run_id.';
comment on column model_runs.model_run_id is 'Id of this model run (<run_id>/clv); customer_scores.model_run_id points here.';
comment on column model_runs.run_id is 'The orchestrator run that trained it.';
comment on column model_runs.kind is 'What was trained: clv (purchase and spend models), churn (classifier) or touchpoints (journeys, attribution, incrementality and ROI).';
comment on column model_runs.status is 'ok, or failed when no model could be trusted (then failure_reason says why and no scores were published).';
comment on column model_runs.failure_reason is 'Why the run failed: no holdout data, no fit converged, ...; null when status is ok.';
comment on column model_runs.model is 'clv: purchase model bgnbd, pareto_nbd, mbgnbd or bgbb; churn: churn_hgb (calibrated gradient boosting) or churn_rfm_logit.';
comment on column model_runs.trained_at is 'When the run that wrote this row started, UTC (run_context.started_at): on a score row the scoring run, the fit''s own start is on its fitted_run_id row.';
comment on column model_runs.as_of is 'Scoring moment, UTC (the run''s run_context.as_of): the end of the data window and of the holdout.';
comment on column model_runs.data_first_order is 'First kept order used, UTC.';
comment on column model_runs.data_last_order is 'Last kept order used (at most as_of), UTC.';
comment on column model_runs.calibration_end is 'End of the calibration window (as_of minus holdout_days), UTC.';
comment on column model_runs.holdout_end is 'End of the holdout window, UTC (= as_of).';
comment on column model_runs.period is 'Time unit of frequency, recency and T: D (day) or W (week starting Monday).';
comment on column model_runs.horizon_days is 'Days ahead that expected purchases and CLV cover.';
comment on column model_runs.n_customers is 'Customers in the final fit (at least one kept order); on a score row the customers scored.';
comment on column model_runs.n_orders is 'Kept (non-refund) orders up to as_of.';
comment on column model_runs.penalizer is 'L2 penalizer of the final fit (lifetimes penalizer_coef).';
comment on column model_runs.params_json is 'Fitted parameters of the purchase model on all data, JSON, in days or weeks; churn: the classifier''s settings and calibration_choice (the method and the Brier scores one cutoff later that chose it); touchpoints: estimates and diagnostics.';
comment on column model_runs.log_likelihood is 'Unpenalised log-likelihood of the final fit, summed over customers.';
comment on column model_runs.spend_model is 'gamma_gamma, or observed_mean when Gamma-Gamma could not be fitted (see warnings).';
comment on column model_runs.spend_params_json is 'Gamma-Gamma parameters p, q, v (lifetimes'' names), JSON.';
comment on column model_runs.spend_correlation is 'Pearson correlation of frequency and monetary value over repeat buyers (Gamma-Gamma assumes none; |r| > 0.3 warns).';
comment on column model_runs.holdout_aggregate_error is '(predicted - actual) / actual repeat purchases in the holdout, chosen candidate fitted on calibration.';
comment on column model_runs.holdout_mae is 'Per-customer mean absolute error of holdout purchases.';
comment on column model_runs.holdout_rmse is 'Per-customer root mean squared error of holdout purchases.';
comment on column model_runs.naive_mae is 'MAE of the naive baseline: each customer repeats at their calibration rate.';
comment on column model_runs.naive_rmse is 'RMSE of the naive baseline.';
comment on column model_runs.spend_spearman is 'Spearman correlation of predicted and actual holdout spend per customer.';
comment on column model_runs.candidates_json is 'Holdout metrics of every candidate (model, penalizer), JSON; the chosen one has chosen=true.';
comment on column model_runs.attempts_json is 'Every fit attempt: model, penalizer, starting point, converged, log-likelihood, parameters, error text, JSON.';
comment on column model_runs.warnings is 'Warnings of the run (holdout error over max_holdout_error, Gamma-Gamma assumption, spend fallback), "; "-separated.';
comment on column model_runs.seed is 'Seed of the random starting points.';
comment on column model_runs.config_json is 'The models.clv config of the run, JSON.';
comment on column model_runs.cxdata_version is 'cxdata package version that trained the model.';
comment on column model_runs.holdout_auc is 'churn: ROC AUC of the chosen classifier on the time holdout (trained before the holdout cutoff).';
comment on column model_runs.holdout_average_precision is 'churn: average precision of the chosen classifier on the holdout.';
comment on column model_runs.holdout_brier is 'churn: Brier score of the chosen classifier on the holdout (lower is better).';
comment on column model_runs.holdout_log_loss is 'churn: log loss of the chosen classifier on the holdout.';
comment on column model_runs.holdout_lift_top_decile is 'churn: churn rate among the top 10 % scores divided by the overall churn rate, holdout.';
comment on column model_runs.holdout_brier_uncalibrated is 'churn: Brier score of the gradient boosting model before probability calibration, holdout.';
comment on column model_runs.baseline_btyd_auc is 'churn: holdout ROC AUC of the BTYD baseline, P(no purchase in the horizon).';
comment on column model_runs.baseline_rfm_logit_auc is 'churn: holdout ROC AUC of the RFM logistic regression baseline.';
comment on column model_runs.training_rows is 'churn: customer-cutoff rows the final classifier was trained on.';
comment on column model_runs.cutoffs_json is 'churn: the stacked training cutoffs and the holdout cutoff, JSON.';
comment on column model_runs.importances_json is 'churn: permutation importances of the features on the holdout, JSON.';
comment on column model_runs.mode is 'fit: this run trained the model (and stored it in model_artifacts); score: it scored with the stored fit fitted_run_id, and every column of the fit (model, parameters, holdout metrics, calibration_end, holdout_end, candidates, attempts, config) is carried from that row, not recomputed; kept (touchpoints): touchpoint_scores still holds the figures of the computation fitted_run_id, whose columns, data window and counts are carried (nothing was read or written). Rows written before the cadence have null.';
comment on column model_runs.fitted_run_id is 'The model_run_id of the fit whose model scored this run: its own id on an ok fit row, the fit it reused on a score row; null on a failed row.';
comment on column model_runs.mode_reason is 'Why the run fitted (no usable fit yet, the last fit is models.refit_every_days old, the stored artifact is unusable and why, config changed, forced) or why it only scored or kept (the age of the fit it used).';
