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

-- Merge small blocks into full ones.  A metric sampled less often than the
-- listener flushes gets a block per flush (one point, ~124 bytes), where a
-- full block stores a point in ~16.6 bytes (docs/storage.md).  This rewrites
-- every metric's blocks of fewer than 124 points whose last point is older
-- than older_than (so the live tail is left alone) into blocks of up to 248
-- points, and widens metric.max_span to match.  Points, summaries and what
-- readers see are unchanged.  All runs, or only the run given.  Returns the
-- number of points moved; meant to be called periodically (housekeeping).
--   SELECT mnemic.compact_blocks();
CREATE FUNCTION mnemic.compact_blocks(older_than interval DEFAULT '10 minutes',
                                      run uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH mergeable AS (
    SELECT b.metric_id FROM mnemic.block b
    WHERE b.n < 124 AND b.t_last < now() - older_than
      AND (run IS NULL OR b.metric_id IN (
             SELECT m.id FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
             WHERE r.uuid = run))
    GROUP BY b.metric_id HAVING count(*) > 1
), removed AS (
    DELETE FROM mnemic.block b USING mergeable m
    WHERE b.metric_id = m.metric_id AND b.n < 124
      AND b.t_last < now() - older_than
    RETURNING b.metric_id, b.t_first, b.ts, b.value
), points AS (
    -- ordered by time, points of equal time in the order they were stored
    SELECT r.metric_id, p.ts, p.value,
           row_number() OVER (PARTITION BY r.metric_id
                              ORDER BY p.ts, r.t_first, p.pos) - 1 AS seq
    FROM removed r, unnest(r.ts, r.value) WITH ORDINALITY AS p (ts, value, pos)
), added AS (
    INSERT INTO mnemic.block (metric_id, t_first, t_last, n, ts, value)
    SELECT metric_id, min(ts), max(ts), count(*), array_agg(ts ORDER BY seq),
           array_agg(value ORDER BY seq)
    FROM points GROUP BY metric_id, seq / 248
    RETURNING metric_id, n, t_last - t_first AS span
), widened AS (
    UPDATE mnemic.metric m SET max_span = greatest(m.max_span, a.span)
    FROM (SELECT metric_id, max(span) AS span FROM added GROUP BY metric_id) a
    WHERE m.id = a.metric_id
    RETURNING m.id
)
SELECT coalesce(sum(n), 0)::bigint FROM added
$$;
