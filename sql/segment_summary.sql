-- segment_summary: size and value of each marketing segment, per as_of.
--
-- grain: one row per segment and scoring moment (as_of, segment)
--
-- Built by cxdata.churn.step.churn_step; one row per rule of
-- models.churn.segments (empty segments included). A run replaces the rows of
-- its as_of and keeps other days.

comment on table segment_summary is 'Per marketing segment and as_of: customers, total CLV, total value at risk and mean churn probability. Primary key: (as_of, segment).';
comment on column segment_summary.segment is 'Segment name, as in segment_members.';
comment on column segment_summary.rule_order is 'Position 1..n of the segment''s rule in models.churn.segments: customers go to the first rule they match.';
comment on column segment_summary.customers is 'Customers in the segment.';
comment on column segment_summary.total_clv is 'Sum of customer_scores.clv over the segment, in currency.';
comment on column segment_summary.total_value_at_risk is 'Sum of customer_scores.value_at_risk (clv times churn_probability) over the segment, in currency.';
comment on column segment_summary.currency is 'ISO 4217 code of total_clv and total_value_at_risk: the project setting currency (amounts are never converted).';
comment on column segment_summary.mean_churn_probability is 'Mean churn_probability of the segment; null when it is empty.';
comment on column segment_summary.as_of is 'Moment the scores were computed at, UTC.';
comment on column segment_summary.run_id is 'The orchestrator run that built the summary.';
comment on column segment_summary.rule is 'The segment''s rule in words as this scoring applied it (models.churn.segments): a relative bound with the value it resolved to on this run, e.g. CLV in the top 20% (clv ≥ 238.2) and churn_probability ≤ 0.3; the last rule takes everyone not in an earlier segment.';
comment on column segment_summary.thresholds_json is 'The rule''s thresholds on this scoring as JSON, per column: the configured min_percentile / max_percentile and the min / max values applied (a percentile resolved on this run''s scored customers), e.g. {"clv": {"min_percentile": 80, "min": 238.2}, "churn_probability": {"max": 0.3}}; {} for the last rule.';
comment on column segment_summary.suggested_action is 'What marketing is suggested to do with the segment, for the default segment names; null for a project''s own names.';
