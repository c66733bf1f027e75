-- bi_touchpoint_investment: which touchpoints to invest in, cut or hold, for BI.
--
-- grain: one row per touchpoint of the latest touchpoint run
--
-- Created by cxdata.warehouse.views.create_views once touchpoint_scores is
-- published. The decision comes first: rows are ordered invest, cut, hold,
-- then touchpoints without cost (no verdict); each row says in words what it
-- returns per 1 unit of the project currency spent against the hurdle and, for a
-- hold, how much more data would decide it. :currency and :hurdle are the
-- project's settings, shown where touchpoint_scores does not carry them.
-- Aggregates per touchpoint, no personal data.
--
-- Numbers in decision_note are rounded through numeric, which formats the same
-- on DuckDB and PostgreSQL; values beyond 1e12 (or NaN, infinity) are left out
-- rather than failing the cast.
--
-- example: The decisions in words, invest first
--   select touchpoint, decision, decision_note, incremental_value_per_1_spent, currency
--   from bi_touchpoint_investment
--   where decision is not null
--   order by decision_order, touchpoint
-- example: Spend and incremental value by touchpoint type
--   select touchpoint_type, sum(spend) as spend, sum(incremental_value) as incremental_value, max(currency) as currency
--   from bi_touchpoint_investment
--   group by touchpoint_type
--   order by touchpoint_type

create or replace view bi_touchpoint_investment as
select
    case t.recommendation when 'invest' then 1 when 'cut' then 2 when 'hold' then 3 end as decision_order,
    t.recommendation as decision,
    t.touchpoint as touchpoint,
    t.evidence as evidence,
    case when t.recommendation is not null then
        case t.recommendation when 'invest' then 'Invest in ' when 'cut' then 'Cut ' else 'Hold ' end
        || t.touchpoint || ': returns '
        || coalesce(case when abs(t.roi) < 1e12 then cast(round(cast(t.roi as numeric(30, 6)), 2) as text) end, '?')
        || ' ' || coalesce(t.currency, :currency) || ' per 1 ' || coalesce(t.currency, :currency) || ' spent (interval '
        || coalesce(case when abs(t.roi_low) < 1e12 then cast(round(cast(t.roi_low as numeric(30, 6)), 2) as text) end, '?')
        || ' to '
        || coalesce(case when abs(t.roi_high) < 1e12 then cast(round(cast(t.roi_high as numeric(30, 6)), 2) as text) end, '?')
        || ', hurdle ' || cast(round(cast(coalesce(t.hurdle, :hurdle) as numeric(30, 6)), 2) as text)
        || coalesce(', evidence: ' || t.evidence, '') || ')'
        || case
            when t.recommendation <> 'hold' then ''
            when t.more_data_factor > 0 and t.more_data_factor < 1e12 then
                '; about ' || cast(round(cast(t.more_data_factor as numeric(30, 6)), 1) as text) || 'x the data'
                || coalesce(
                    ' (' || case when t.more_weeks >= 0 and t.more_weeks < 1e12
                        then cast(cast(ceil(t.more_weeks) as bigint) as text) end || ' more weeks)',
                    '')
                || ' would decide it'
            else '; at the estimated effect no amount of data in reach would decide it'
        end
    end as decision_note,
    t.roi as incremental_value_per_1_spent,
    t.roi_low as incremental_value_per_1_spent_low,
    t.roi_high as incremental_value_per_1_spent_high,
    coalesce(t.hurdle, :hurdle) as hurdle,
    t.more_data_factor as more_data_factor,
    t.more_weeks as more_weeks,
    coalesce(t.currency, :currency) as currency,
    t.cost as spend,
    t.incremental_value as incremental_value,
    t.incremental_value_low as incremental_value_low,
    t.incremental_value_high as incremental_value_high,
    t.placebo_bias as placebo_bias,
    t.placebo_sd as placebo_sd,
    t.source as touchpoint_type,
    t.channel as channel,
    t.campaign as campaign,
    t.conversions as attributed_conversions,
    t.revenue as attributed_revenue,
    t.attributed_clv as attributed_lifetime_value,
    t.retention_value as retention_value,
    t.incremental_orders as incremental_orders,
    t.incremental_revenue as incremental_revenue,
    t.as_of as as_of,
    t.model_run_id as model_run_id
from touchpoint_scores t
order by
    case t.recommendation when 'invest' then 1 when 'cut' then 2 when 'hold' then 3 else 4 end,
    case when t.recommendation = 'hold' then t.more_data_factor end nulls last,
    case when t.recommendation = 'cut' then t.roi else -t.roi end nulls last,
    t.touchpoint;

comment on view bi_touchpoint_investment is 'Which touchpoints to invest in, cut or hold: one row per touchpoint, ordered invest, cut, hold, then touchpoints without cost (no verdict). Each row gives the decision in words, the incremental value per 1 unit of currency spent with its interval against the hurdle, the evidence behind it (experiment, observational or insufficient) and, for a hold, how many times the data (and how many more weeks) a verdict would need; then spend, incremental value, placebo calibration and attributed credit. Built on touchpoint_scores; no personal data. To see where to invest: select touchpoint, decision_note, incremental_value_per_1_spent, currency from bi_touchpoint_investment where decision = ''invest'' order by incremental_value_per_1_spent desc.';
comment on column bi_touchpoint_investment.decision_order is 'integer: position of the decision, 1 invest, 2 cut, 3 hold; null without cost (no verdict). Sort by it to read the lists in order.';
comment on column bi_touchpoint_investment.decision is 'text: invest when the low end of incremental_value_per_1_spent clears the hurdle, cut when the high end is below it, else hold; null without cost (touchpoint_scores.recommendation).';
comment on column bi_touchpoint_investment.touchpoint is 'text: <channel>/<campaign> for marketing, web:<source>/<medium> or web:referral:<host> for web, service:<ticket channel> for service.';
comment on column bi_touchpoint_investment.evidence is 'text: what the verdict rests on: experiment (a randomised holdout), observational (the lift estimate) or insufficient (the interval crosses the hurdle); null without cost.';
comment on column bi_touchpoint_investment.decision_note is 'text: the decision in words for a marketer, e.g. Hold paid_search/brand: returns 0.80 EUR per 1 EUR spent (interval 0.10 to 1.60, hurdle 1.00, evidence: insufficient); about 2.3x the data (12 more weeks) would decide it. Null without cost.';
comment on column bi_touchpoint_investment.incremental_value_per_1_spent is 'float: incremental value per 1 unit of currency spent (return on spend, incremental_value / spend); null without cost.';
comment on column bi_touchpoint_investment.incremental_value_per_1_spent_low is 'float: low end of the interval of incremental_value_per_1_spent (level models.touchpoints.interval, default 90 %).';
comment on column bi_touchpoint_investment.incremental_value_per_1_spent_high is 'float: high end of the interval of incremental_value_per_1_spent.';
comment on column bi_touchpoint_investment.hurdle is 'float: incremental value per 1 unit of currency spent that a touchpoint must clear to be invested in (models.touchpoints.hurdle).';
comment on column bi_touchpoint_investment.more_data_factor is 'float: for a hold, how many times the current data (customers x time) a verdict would need at the estimated effect; null otherwise, or when no amount in reach would decide it.';
comment on column bi_touchpoint_investment.more_weeks is 'float: for a hold, the extra weeks of data at the current contact rate that would give more_data_factor; null otherwise.';
comment on column bi_touchpoint_investment.currency is 'text: ISO 4217 code of every amount in the row (the project setting currency).';
comment on column bi_touchpoint_investment.spend is 'float, currency: spend on the touchpoint up to as_of (stg_touchpoint_costs); null when it has no cost.';
comment on column bi_touchpoint_investment.incremental_value is 'float, currency: incremental revenue plus retention value, what the touchpoint added over what would have happened without it.';
comment on column bi_touchpoint_investment.incremental_value_low is 'float, currency: low end of the interval of incremental_value.';
comment on column bi_touchpoint_investment.incremental_value_high is 'float, currency: high end of the interval of incremental_value.';
comment on column bi_touchpoint_investment.placebo_bias is 'float, currency: the estimator''s mean result on placebo contacts (moments that are not contacts, drawn to look like them); far from 0 means the estimate is biased on this project.';
comment on column bi_touchpoint_investment.placebo_sd is 'float, currency: the spread of the estimator''s results on placebo contacts.';
comment on column bi_touchpoint_investment.touchpoint_type is 'text: marketing, web or service (touchpoint_scores.source).';
comment on column bi_touchpoint_investment.channel is 'text: channel of the touchpoint.';
comment on column bi_touchpoint_investment.campaign is 'text: campaign of the touchpoint; null for channel-level touchpoints.';
comment on column bi_touchpoint_investment.attributed_conversions is 'float: conversions attributed to the touchpoint by the attribution model (credit, not a causal effect).';
comment on column bi_touchpoint_investment.attributed_revenue is 'float, currency: revenue attributed to the touchpoint.';
comment on column bi_touchpoint_investment.attributed_lifetime_value is 'float, currency: customer lifetime value attributed to the touchpoint.';
comment on column bi_touchpoint_investment.retention_value is 'float, currency: value of the touchpoint''s effect on retention.';
comment on column bi_touchpoint_investment.incremental_orders is 'float: estimated orders the touchpoint added over the customers'' own baseline; null without marketing contacts.';
comment on column bi_touchpoint_investment.incremental_revenue is 'float, currency: revenue the touchpoint added over what would have happened without it.';
comment on column bi_touchpoint_investment.as_of is 'timestamp: moment the scores describe, UTC.';
comment on column bi_touchpoint_investment.model_run_id is 'text: the model run that produced the scores (model_runs.model_run_id).';
