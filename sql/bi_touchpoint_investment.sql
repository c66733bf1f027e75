-- bi_touchpoint_investment: where to invest, per touchpoint, for BI.
--
-- Created by cxdata.warehouse.views.create_views once touchpoint_scores is
-- published. Friendly names over touchpoint_scores; aggregates per
-- touchpoint, no personal data.

create or replace view bi_touchpoint_investment as
select
    t.as_of as as_of,
    t.touchpoint as touchpoint,
    t.source as touchpoint_type,
    t.channel as channel,
    t.campaign as campaign,
    t.recommendation as recommendation,
    t.conversions as attributed_conversions,
    t.revenue as attributed_revenue,
    t.attributed_clv as attributed_lifetime_value,
    t.retention_value as retention_value,
    t.incremental_orders as incremental_orders,
    t.incremental_revenue as incremental_revenue,
    t.incremental_value as incremental_value,
    t.cost as spend,
    t.roi as return_on_spend,
    t.roi_low as return_on_spend_low,
    t.roi_high as return_on_spend_high,
    t.model_run_id as model_run_id
from touchpoint_scores t;

comment on view bi_touchpoint_investment is 'Touchpoint investment table: per touchpoint (channel, campaign) the attributed conversions, revenue and lifetime value, retention effect, incremental revenue, spend, return on spend with its interval and the recommendation (invest, hold, cut). Built on touchpoint_scores; no personal data.';
comment on column bi_touchpoint_investment.as_of is 'Moment the scores describe, UTC.';
comment on column bi_touchpoint_investment.touchpoint is 'Touchpoint label: <channel>/<campaign> for marketing, web:<source>/<medium> or web:referral:<host> for web, service:<ticket channel> for service.';
comment on column bi_touchpoint_investment.touchpoint_type is 'marketing, web or service (touchpoint_scores.source).';
comment on column bi_touchpoint_investment.channel is 'Channel of the touchpoint.';
comment on column bi_touchpoint_investment.campaign is 'Campaign of the touchpoint; null for channel-level touchpoints.';
comment on column bi_touchpoint_investment.recommendation is 'What to do with the spend: invest when the low end of return on spend clears the hurdle, cut when the high end is below it, else hold; null without cost.';
comment on column bi_touchpoint_investment.attributed_conversions is 'Conversions attributed to the touchpoint.';
comment on column bi_touchpoint_investment.attributed_revenue is 'Revenue attributed to the touchpoint, order currency.';
comment on column bi_touchpoint_investment.attributed_lifetime_value is 'Customer lifetime value attributed to the touchpoint, order currency.';
comment on column bi_touchpoint_investment.retention_value is 'Value of the touchpoint''s effect on retention, order currency.';
comment on column bi_touchpoint_investment.incremental_orders is 'Estimated orders the touchpoint added over the customers'' own baseline; null without marketing contacts.';
comment on column bi_touchpoint_investment.incremental_revenue is 'Revenue the touchpoint added over what would have happened without it, order currency.';
comment on column bi_touchpoint_investment.incremental_value is 'Incremental revenue plus retention value: what return on spend is computed from.';
comment on column bi_touchpoint_investment.spend is 'Spend on the touchpoint up to as_of (stg_touchpoint_costs); null when it has no cost.';
comment on column bi_touchpoint_investment.return_on_spend is 'Return on spend: incremental_value / spend; null without cost.';
comment on column bi_touchpoint_investment.return_on_spend_low is 'Lower end of the return-on-spend interval.';
comment on column bi_touchpoint_investment.return_on_spend_high is 'Upper end of the return-on-spend interval.';
comment on column bi_touchpoint_investment.model_run_id is 'The model run that produced the scores (model_runs.model_run_id).';
