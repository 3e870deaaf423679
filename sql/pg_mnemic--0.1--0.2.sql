-- pg_mnemic 0.1 -> 0.2 (ALTER EXTENSION pg_mnemic UPDATE).  A database
-- updated with this script has exactly the objects of a new 0.2 install;
-- regress/e2e/test_upgrade.py compares the two.

\echo Use "ALTER EXTENSION pg_mnemic UPDATE TO '0.2'" to load this file. \quit

-- v1 sequences: a number far outside the run's window starts a new sequence
-- (counted in seq_resets) instead of counting as loss; the current
-- sequence keeps its own datagram count.
ALTER TABLE mnemic.run
    ADD COLUMN seq_datagrams bigint,
    ADD COLUMN seq_resets bigint NOT NULL DEFAULT 0;
UPDATE mnemic.run SET seq_datagrams = datagrams WHERE first_seq IS NOT NULL;

-- Summary sums saturate instead of failing on overflow.
CREATE FUNCTION mnemic.summary_sum(a float8, b float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'mnemic_summary_sum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION mnemic.summary_sum(float8, float8) FROM PUBLIC;

-- listener_stats() gains seq_resets.
DROP FUNCTION mnemic.listener_stats();
CREATE FUNCTION mnemic.listener_stats(
    OUT datagrams_received  bigint,
    OUT bytes_received      bigint,
    OUT datagrams_decoded   bigint,
    OUT samples_stored      bigint,
    OUT malformed           bigint,
    OUT malformed_by_reason jsonb,
    OUT unknown_kinds       bigint,
    OUT lost                bigint,
    OUT kernel_drops        bigint,
    OUT ring_drops          bigint,
    OUT flushes             bigint,
    OUT flush_errors        bigint,
    OUT flush_time_ms       float8,
    OUT flush_time_max_ms   float8,
    OUT ring_used           bigint,
    OUT ring_high_water     bigint,
    OUT ring_size           bigint,
    OUT samples_held        bigint,
    OUT batch_high_water    bigint,
    OUT last_error          text,
    OUT last_error_time     timestamptz,
    OUT receiver_pid        int,
    OUT inserter_pid        int,
    OUT receive_buffer      bigint,
    OUT seq_resets          bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'mnemic_listener_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
REVOKE EXECUTE ON FUNCTION mnemic.listener_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.listener_stats() TO mnemic_reader;

-- One block size for C and SQL: compact_blocks asks the library.
CREATE FUNCTION mnemic.block_capacity()
RETURNS int
AS 'MODULE_PATHNAME', 'mnemic_block_capacity'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION mnemic.block_capacity() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.block_capacity() TO mnemic_reader;

CREATE OR REPLACE FUNCTION mnemic.compact_blocks(older_than interval DEFAULT '10 minutes',
                                      run uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH mergeable AS (
    SELECT b.metric_id FROM mnemic.block b
    WHERE b.n < mnemic.block_capacity() / 2 AND b.t_last < now() - older_than
      AND (run IS NULL OR b.metric_id IN (
             SELECT m.id FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
             WHERE r.uuid = run))
    GROUP BY b.metric_id HAVING count(*) > 1
), removed AS (
    DELETE FROM mnemic.block b USING mergeable m
    WHERE b.metric_id = m.metric_id AND b.n < mnemic.block_capacity() / 2
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
    FROM points GROUP BY metric_id, seq / mnemic.block_capacity()
    RETURNING metric_id, n, t_last - t_first AS span
), widened AS (
    UPDATE mnemic.metric m SET max_span = greatest(m.max_span, a.span)
    FROM (SELECT metric_id, max(span) AS span FROM added GROUP BY metric_id) a
    WHERE m.id = a.metric_id
    RETURNING m.id
)
SELECT coalesce(sum(n), 0)::bigint FROM added
$$;

-- mnemic_owner may merge small blocks too.
GRANT EXECUTE ON FUNCTION mnemic.compact_blocks(interval, uuid) TO mnemic_owner;
GRANT INSERT ON mnemic.block TO mnemic_owner;
GRANT UPDATE (max_span) ON mnemic.metric TO mnemic_owner;
