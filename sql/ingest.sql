-- ingest.sql: putting samples in through the listener's storage path.

-- Handle one datagram (legacy JSON or binary v1) exactly as if it had
-- arrived on the UDP socket, and store it in the calling transaction: for
-- replaying captured traffic, tests and debugging.  Counted in
-- listener_stats() like received traffic.  Returns the number of samples
-- stored; a malformed datagram is dropped with a WARNING naming the reason
-- (as listener_malformed() counts it) and returns NULL.
--   SELECT mnemic.ingest_datagram(convert_to(
--     '{"msg_type": "row", "row_data": [1, 2], "uuid": "…"}', 'UTF8'));
CREATE FUNCTION mnemic.ingest_datagram(datagram bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_ingest_datagram'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Append points to a metric of a run, creating the tracer, the run (its
-- protocol 'import') and the metric as needed, through the same storage path
-- the listener uses.  ts and value are one-dimensional and of equal length;
-- a NULL value is stored as NULL, a NULL or infinite time is an error.
-- Returns the number of points stored.  For importing history, tests and
-- benchmarks.
--   SELECT mnemic.import_series('my-app', gen_random_uuid(), 'cpu',
--     ARRAY[now()], ARRAY[12.5]);
CREATE FUNCTION mnemic.import_series(tracer text, run uuid, metric text,
                                     ts timestamptz[], value float8[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_import_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
