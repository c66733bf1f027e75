-- The shard bucket of a text key on DuckDB (cxdata/shards.py): its md5's first 8 hex digits read as an
-- unsigned 32-bit number, modulo :buckets. {key} is the key column; it must equal bucket_of in Python and the
-- PostgreSQL variant for every key (tests/test_shards.py checks all three).
(('0x' || substr(md5({key}), 1, 8))::BIGINT % :buckets)
