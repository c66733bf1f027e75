-- sync_changes: the members each sync adds to or removes from its destination.
--
-- grain: one row per destination, sync (seq) and customer_key
--
-- Written by cxdata.activation.plan.plan_sync with the sync_runs row, before anything is sent; read again
-- by every delivery attempt of that sync, so a retry sends the same changes.

comment on table sync_changes is 'The changes of each sync: one row per member added to or removed from the destination. Recorded before the sync is delivered, so a failed or interrupted delivery is retried with the same changes. Key: (destination, seq, customer_key).';
comment on column sync_changes.destination is 'The destination''s name in activation.destinations.';
comment on column sync_changes.seq is 'The sync (sync_runs.seq).';
comment on column sync_changes.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column sync_changes.change is 'add or remove.';
