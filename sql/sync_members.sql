-- sync_members: who each destination holds, by our records.
--
-- grain: one row per destination and customer_key
--
-- Replaced by key (destination, customer_key) by cxdata.activation.plan.plan_sync in the transaction that
-- records a sync's changes: the added inserted, the removed deleted.

comment on table sync_members is 'The audience each sync destination holds after its latest planned sync: the next sync sends the members of the segment not in it (adds) and those in it no longer in the segment''s audience (removes). Key: (destination, customer_key).';
comment on column sync_members.destination is 'The destination''s name in activation.destinations.';
comment on column sync_members.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column sync_members.added_seq is 'The sync (sync_runs.seq) that added the member.';
