-- The shard bucket of a text key on PostgreSQL (cxdata/shards.py): its md5's first 8 hex digits read as an
-- unsigned 32-bit number (padded to 64 bits, so the sign bit stays clear), modulo :buckets. {key} is the key
-- column; it must equal bucket_of in Python and the DuckDB variant for every key (tests/test_shards.py).
(('x' || lpad(substr(md5({key}), 1, 8), 16, '0'))::bit(64)::bigint % :buckets)
