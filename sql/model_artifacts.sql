-- model_artifacts: the fitted models of every CLV and churn fit, kept so that the runs between refits score with
-- them, and what each touchpoint computation's asset shows beside touchpoint_scores. Appended with the fit's model_runs row, in the same transaction; a step retried under the same run id
-- replaces its own rows.
--
-- grain: one row per fit and kind (model_run_id, kind)
--
-- Written and read by cxdata.model_store (artifact, load, decide). CLV stores a cxdata.clv.step.ClvFit
-- (purchase, spend and boosted models, with the fit's holdout metrics and plots), churn a
-- cxdata.churn.train.Training (classifier, features, reason references, metrics), touchpoints a
-- cxdata.touchpoints.step.TouchpointReport without its scores (every model's credit, retention and placebo
-- diagnostics, plots, warnings: the runs keeping the computation show them). BTYD parameters are also
-- readable in model_runs.params_json. A row is used only when every version column equals the running
-- environment's and the payload's sha256 and length match; otherwise the next run refits and its model_runs
-- row says why (mode_reason). No personal data: models hold population parameters and trees, no customer rows.

comment on table model_artifacts is 'Fitted CLV and churn models and touchpoint computation reports (pickled), one row per fit and kind, with the versions that wrote them and a sha256 of the payload. Runs between refits score with the latest usable one (touchpoints: keep its figures). Primary key: model_run_id, kind. No personal data.';
comment on column model_artifacts.model_run_id is 'The fit (model_runs.model_run_id, mode fit) that trained these models.';
comment on column model_artifacts.kind is 'clv (purchase, spend and boosted models), churn (classifier) or touchpoints (the computation''s report without its scores), as model_runs.kind.';
comment on column model_artifacts.format is 'How payload is encoded: pickle (Python''s, highest protocol).';
comment on column model_artifacts.sha256 is 'Hex SHA-256 of payload; a mismatch makes the artifact unusable (refit).';
comment on column model_artifacts.bytes is 'Length of payload in bytes.';
comment on column model_artifacts.payload is 'The pickled models (DuckDB BLOB, PostgreSQL bytea).';
comment on column model_artifacts.cxdata_version is 'cxdata version that wrote it; another version refits.';
comment on column model_artifacts.python_version is 'Python major.minor that wrote it; another refits.';
comment on column model_artifacts.numpy_version is 'numpy version that wrote it; another refits.';
comment on column model_artifacts.scikit_learn_version is 'scikit-learn version that wrote it; another refits.';
comment on column model_artifacts.lifetimes_version is 'lifetimes version that wrote it; another refits.';
