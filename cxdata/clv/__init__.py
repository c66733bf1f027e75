"""Customer lifetime value on lifetimes' BTYD models: RFM summaries, robust fits, holdout evaluation, scores.

Modules: `rfm` (polars summaries), `btyd` (the only lifetimes user), `evaluate`
(time holdout and model choice), `score` (CLV scores), `plots`, `runs`
(model_runs record), `partials` (a shard's counts for the global fit) and `step` (the
warehouse step). Import them directly;
this package imports nothing heavy.
"""
