-- touchpoint_scores: what each touchpoint earns, costs and returns, and whether to invest, hold or cut.
--
-- grain: one row per touchpoint at the latest as_of
--
-- Built by cxdata.touchpoints.step.touchpoint_step from the fact marts,
-- stg_touchpoint_costs and customer_scores; replaced by every computation (the
-- table holds one as_of). Touchpoints are computed on the models' refit cadence
-- (models.refit_every_days, cxdata/model_store.py): a run in between leaves the
-- table as the last computation left it, so as_of can be older than the latest
-- run's. touchpoint_scores_history keeps every computation. Credit columns
-- come from the attribution model in models.touchpoints.model (markov by
-- default); value columns are causal estimates (cxdata/touchpoints/lift.py,
-- retention.py), not attribution.

comment on table touchpoint_scores is 'Touchpoint investment table at one as_of: one row per touchpoint (marketing channel/campaign, web source, service channel) with attributed credit, estimated incremental revenue and retention value, cost, return on spend with a calibrated interval, the recommendation and the evidence behind it. Primary key: touchpoint.';
comment on column touchpoint_scores.as_of is 'Moment the scores were computed at, UTC; later data is ignored. Runs between touchpoint computations (models.refit_every_days) keep the table, so it can be older than the latest run''s as_of.';
comment on column touchpoint_scores.touchpoint is 'Touchpoint label: <channel>/<campaign> for marketing (<channel> at channel granularity), web:<source>/<medium> or web:referral:<host> for web sessions, service:<ticket channel> for service.';
comment on column touchpoint_scores.source is 'marketing, web or service.';
comment on column touchpoint_scores.channel is 'Marketing channel (email, paid_search ...), web for web sources, the ticket channel for service.';
comment on column touchpoint_scores.campaign is 'Marketing campaign, the web source/medium or referral for web sources; null for service and channel granularity.';
comment on column touchpoint_scores.conversions is 'Orders credited to the touchpoint by the attribution model (fractional).';
comment on column touchpoint_scores.revenue is 'Order revenue credited to the touchpoint by the attribution model.';
comment on column touchpoint_scores.attributed_clv is 'CLV (customer_scores.clv) of customers acquired by a first order, credited to the touchpoint by the attribution model; null when this run has no CLV; model_runs.warnings says why.';
comment on column touchpoint_scores.removal_effect is 'Markov removal effect: share of conversions the journey chain loses without the touchpoint; null for other models.';
comment on column touchpoint_scores.incremental_orders is 'Estimated orders the touchpoint added: contacts times the mean excess of orders after a contact over the customer''s own baseline rate (cxdata/touchpoints/lift.py); null when the touchpoint has no marketing contacts.';
comment on column touchpoint_scores.incremental_revenue is 'incremental_orders times the mean order value of the contacted customers; an estimate.';
comment on column touchpoint_scores.churn_effect is 'Estimated change in the probability of no further order within models.touchpoints.churn_days after an order the touchpoint reached (IPW on held-out time; positive raises churn); null where not estimated (only service channels and CRM sends).';
comment on column touchpoint_scores.churn_effect_low is 'Low end of the bootstrap interval of churn_effect (level models.touchpoints.interval).';
comment on column touchpoint_scores.churn_effect_high is 'High end of the bootstrap interval of churn_effect.';
comment on column touchpoint_scores.retention_value is 'Revenue kept by the churn the touchpoint prevents: -churn_effect x reached orders x what a kept customer spent in churn_days (conservative: a kept customer buys on after it); negative when it drives customers away.';
comment on column touchpoint_scores.incremental_value is 'incremental_revenue + retention_value (nulls as 0): the value the return on spend is computed from.';
comment on column touchpoint_scores.incremental_value_low is 'Low end of the interval of incremental_value (level models.touchpoints.interval): customer bootstrap of the whole estimate, widened to at least the placebo noise; from the experiment when evidence is experiment.';
comment on column touchpoint_scores.incremental_value_high is 'High end of the interval of incremental_value.';
comment on column touchpoint_scores.placebo_bias is 'Incremental revenue the lift estimator finds on placebo twins of the contacts (the same customers at moments shifted 7-35 days, where no contact happened): its own bias on this project, published as a check, not subtracted.';
comment on column touchpoint_scores.placebo_sd is 'Spread of the lift estimator on the placebo twins (revenue): its noise where nothing happened; the interval is never narrower than this.';
comment on column touchpoint_scores.linked_share is 'Share of the touchpoint''s touches of its contact kind that reached a customer after their first order, the only ones the incremental estimate can use (others are on devices the identity graph did not link, or on prospects); below 1 the upper end of the interval is raised to the estimate over this share.';
comment on column touchpoint_scores.cost is 'Spend in stg_touchpoint_costs over every period starting by as_of; null when the touchpoint has no cost.';
comment on column touchpoint_scores.currency is 'ISO 4217 code of every money column (config currency).';
comment on column touchpoint_scores.roi is 'Return on spend: incremental_value / cost; null without cost.';
comment on column touchpoint_scores.roi_low is 'Low end of the interval of roi: incremental_value_low / cost (level models.touchpoints.interval, default 90 %).';
comment on column touchpoint_scores.roi_high is 'High end of the bootstrap interval of roi.';
comment on column touchpoint_scores.hurdle is 'Return on spend a touchpoint must beat to invest (models.touchpoints.hurdle) at this run.';
comment on column touchpoint_scores.recommendation is 'invest when roi_low is above models.touchpoints.hurdle, cut when roi_high is below it, else hold; null without cost.';
comment on column touchpoint_scores.evidence is 'What decided the verdict: experiment (a randomised holdout, experiment_assignments), observational (the self-controlled estimate), insufficient (a hold: the interval crosses the hurdle); null without cost.';
comment on column touchpoint_scores.experiment_treated is 'Customers assigned to treatment in a read randomised holdout of this touchpoint; null without one.';
comment on column touchpoint_scores.experiment_control is 'Customers withheld (control) in that holdout; null without one.';
comment on column touchpoint_scores.more_data_factor is 'For a hold: how many times today''s data (customers x time) would give an interval that excludes the hurdle at today''s estimate, (half-width / |roi - hurdle|)^2; null otherwise or beyond 100x.';
comment on column touchpoint_scores.more_weeks is 'For a hold: extra weeks of data at today''s contact rate that give more_data_factor: (more_data_factor - 1) x the weeks the touchpoint''s contacts span; null beyond three years (more customers or an experiment would decide it sooner).';
comment on column touchpoint_scores.model_run_id is 'The model_runs row (kind touchpoints) that produced the scores.';
