-- identity_merges: the log of customer keys merged into others, or split.
--
-- grain: one row per customer key merged or split, per run
--
-- Append-only across runs: each run adds its own events to the rows already here.

comment on table identity_merges is 'Log of identity changes between runs: a customer_key merged into a surviving key when new records joined two customers, or a key split when its identifiers fell apart. One row per retired or new key.';
comment on column identity_merges.old_key is 'The key that stops being used (merge) or the key that was split (split).';
comment on column identity_merges.new_key is 'The surviving key of a merge, or the new key given to the part that left in a split.';
comment on column identity_merges.kind is 'merge or split.';
comment on column identity_merges.reason is 'Why: the identifier type and the record ids that joined (or no longer join) the customers; never a raw email or phone.';
comment on column identity_merges.run_id is 'Run in which it happened.';
comment on column identity_merges.merged_at is 'When the run made the change, UTC.';
