-- listener.sql: reading the UDP listener's counters.

-- One row: what the listener received, stored and dropped since the server
-- started, how its flushes went, and its workers.
--   SELECT datagrams_received, samples_stored, malformed, lost
--   FROM mnemic.listener_stats();
CREATE FUNCTION mnemic.listener_stats(
    OUT datagrams_received  bigint,  -- taken off the socket
    OUT bytes_received      bigint,
    OUT datagrams_decoded   bigint,  -- decoded and handed to storage
    OUT samples_stored      bigint,  -- values committed
    OUT malformed           bigint,  -- datagrams dropped as malformed, all reasons
    OUT malformed_by_reason jsonb,   -- {"bad_json": 2, ...}; see listener_malformed()
    OUT unknown_kinds       bigint,  -- v1 messages of a kind this server skips
    OUT lost                bigint,  -- datagrams missing from v1 sequences
    OUT kernel_drops        bigint,  -- dropped by the kernel: socket buffer full
    OUT ring_drops          bigint,  -- dropped by the receiver: ring full
    OUT flushes             bigint,  -- transactions that wrote samples
    OUT flush_errors        bigint,
    OUT flush_time_ms       float8,  -- total
    OUT flush_time_max_ms   float8,
    OUT ring_used           bigint,  -- bytes waiting for the inserter now
    OUT ring_high_water     bigint,  -- most bytes ever waiting
    OUT ring_size           bigint,  -- pg_mnemic.ring_size in bytes
    OUT samples_held        bigint,  -- received, decoded, waiting for a flush now
    OUT batch_high_water    bigint,  -- most samples the inserter held at once
    OUT last_error          text,
    OUT last_error_time     timestamptz,
    OUT receiver_pid        int,     -- NULL when not running
    OUT inserter_pid        int,
    OUT receive_buffer      bigint,  -- SO_RCVBUF as the kernel granted it
    OUT seq_resets          bigint,  -- v1 sequences started anew, all runs
    OUT bad_auth            bigint,  -- dropped: the signature does not verify
    OUT unknown_key         bigint,  -- dropped: signed with a key id not in ingest_key
    OUT unsigned            bigint,  -- dropped: not signed, under pg_mnemic.auth = require
    OUT replayed            bigint,  -- dropped: its (run, sequence) was taken before
    OUT ingest_keys         int)     -- keys the receiver verifies with; NULL until loaded
RETURNS record
AS 'MODULE_PATHNAME', 'mnemic_listener_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- Dropped datagrams by reason, one row per reason (zeros included):
--   SELECT * FROM mnemic.listener_malformed() WHERE count > 0;
CREATE FUNCTION mnemic.listener_malformed(OUT reason text, OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mnemic_listener_malformed'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
