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
