-- pg_mnemic 0.1 exactly as it was released: the install script of that
-- version, kept so that ALTER EXTENSION pg_mnemic UPDATE can be tested from
-- it.  Never edit; changes go into the sql/*.sql parts and an upgrade step
-- (pg_mnemic--0.1--0.2.sql).

-- schema.sql: tables and views of pg_mnemic.  The install script
-- pg_mnemic--0.1.sql is this file followed by the other sql/*.sql parts,
-- concatenated by pg_mnemic.mk in the order it names them.

\echo Use "CREATE EXTENSION pg_mnemic" to load this file. \quit

-- A tracer is a traced program by name (dolon's tracer_name / app_name).
CREATE TABLE mnemic.tracer (
    id      serial PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    created timestamptz NOT NULL DEFAULT now()
);

-- One run of a traced program, named by the uuid its client made up.
-- tracer_id stays NULL until a header or description arrives.
CREATE TABLE mnemic.run (
    id             serial PRIMARY KEY,
    uuid           uuid NOT NULL UNIQUE,
    tracer_id      int REFERENCES mnemic.tracer (id) ON DELETE CASCADE,
    protocol       text NOT NULL CHECK (protocol IN ('json', 'v1', 'import')),
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    started        timestamptz,           -- client's start time, when known
    ended          timestamptz,           -- set by an end-of-run message
    host           text,
    pid            int,
    program        text,
    python_version text,
    period         interval,              -- sampling period, when known
    datagrams      bigint NOT NULL DEFAULT 0,
    first_seq      bigint,                -- v1 sequence numbers seen
    max_seq        bigint,
    lost           bigint NOT NULL DEFAULT 0,
    samples        bigint NOT NULL DEFAULT 0
);
CREATE INDEX run_tracer ON mnemic.run (tracer_id, first_seen);

-- A metric is one series of one run, at a fixed position (idx) among the
-- run's values.  name is a placeholder col_<idx> until the run is described.
CREATE TABLE mnemic.metric (
    id       serial PRIMARY KEY,
    run_id   int NOT NULL REFERENCES mnemic.run (id) ON DELETE CASCADE,
    idx      int NOT NULL,
    name     text NOT NULL,
    max_span interval NOT NULL DEFAULT '0', -- longest t_last - t_first of its blocks
    UNIQUE (run_id, idx)
);

-- Sample storage: consecutive points of one metric packed into a block row
-- (see docs/storage.md for the measurements behind this layout).  Blocks of
-- a metric may overlap in time when data arrives late; readers find the
-- blocks of [from, to] with t_first BETWEEN from - max_span AND to.
CREATE TABLE mnemic.block (
    metric_id int NOT NULL,
    t_first   timestamptz NOT NULL,
    t_last    timestamptz NOT NULL,
    n         int NOT NULL,
    ts        timestamptz[] NOT NULL,
    value     float8[] NOT NULL
) WITH (toast_tuple_target = 8160);
CREATE INDEX block_metric_time ON mnemic.block (metric_id, t_first);
-- Finds the small blocks mnemic.compact_blocks() merges (half of the store's
-- 248-point blocks); full blocks have no entry here.
CREATE INDEX block_small ON mnemic.block (metric_id) WHERE n < 124;

-- Every stored point with names, for plain SQL.
CREATE VIEW mnemic.samples AS
SELECT t.name AS tracer, r.uuid AS run, m.name AS metric, p.ts, p.value
FROM mnemic.block b
JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id
CROSS JOIN LATERAL unnest(b.ts, b.value) AS p (ts, value);
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
    OUT receive_buffer      bigint)  -- SO_RCVBUF as the kernel granted it
RETURNS record
AS 'MODULE_PATHNAME', 'mnemic_listener_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- Dropped datagrams by reason, one row per reason (zeros included):
--   SELECT * FROM mnemic.listener_malformed() WHERE count > 0;
CREATE FUNCTION mnemic.listener_malformed(OUT reason text, OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mnemic_listener_malformed'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
-- series.sql: reading traces.  Listing (tracers, runs, run_info, metrics),
-- downsampled series, the generic downsampling aggregates, CSV export,
-- housekeeping, and the per-metric summaries that make a chart cost follow
-- its pixels rather than the points stored.  C code in pg_mnemic/*.c.

-- Summaries: per metric, per level, per time bucket, the aggregates M4 and
-- avg need.  Level L has buckets 1 ms * 4^L long (L = 0..17), aligned on
-- the PostgreSQL epoch (2000-01-01 00:00 UTC).  A metric keeps the levels
-- summary_grid.finest..coarsest (11 of them): finest is chosen at the
-- metric's first block so that a finest bucket holds 16 points or more at
-- the block's median spacing (else the run's period, else 100 ms).
-- Finite values only enter n/sum/first/last/min/max; NULL, NaN and
-- +/-Infinity are "missing" and only counted in missing/missing_ts.
-- Rows are maintained by SummaryAppend() (pg_mnemic/summary.c), which the
-- store calls for the blocks it writes, inside the same transaction.  Rows
-- of deleted runs go with mnemic.delete_run(); there is no foreign key.
CREATE TABLE mnemic.summary_grid (
    metric_id int PRIMARY KEY,
    finest    smallint NOT NULL,    -- finest level kept for this metric
    coarsest  smallint NOT NULL,    -- coarsest level kept
    spacing   bigint                -- typical point spacing (us), when known
);

CREATE TABLE mnemic.summary (
    metric_id  int NOT NULL,
    level      smallint NOT NULL,
    bucket     timestamptz NOT NULL,     -- start of the bucket
    n          bigint NOT NULL,          -- finite values
    sum        float8 NOT NULL,          -- of the finite values
    first_ts   timestamptz,              -- earliest finite point (ties: lower value)
    first_v    float8,
    last_ts    timestamptz,              -- latest finite point (ties: higher value)
    last_v     float8,
    min_ts     timestamptz,              -- lowest value (ties: earlier ts)
    min_v      float8,
    max_ts     timestamptz,              -- highest value (ties: earlier ts)
    max_v      float8,
    missing    bigint NOT NULL,          -- NULL / NaN / Infinity points
    missing_ts timestamptz,              -- earliest of them
    PRIMARY KEY (metric_id, level, bucket)
) WITH (fillfactor = 80);

-- SQL twin of SummaryAppend(): add points of one metric to its summaries.
-- For tests and for blocks written without the store; not for readers.
-- Buckets are merged in memory and written once per transaction, at commit.
CREATE FUNCTION mnemic.summary_append(metric_id int, ts timestamptz[],
                                      value float8[])
RETURNS void
AS 'MODULE_PATHNAME', 'mnemic_summary_append'
LANGUAGE C STRICT VOLATILE;

-- Rebuild a metric's summaries from its blocks (after manual edits).
CREATE FUNCTION mnemic.summary_rebuild(metric_id int)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_summary_rebuild'
LANGUAGE C STRICT VOLATILE;

-- ---------------------------------------------------------------------
-- Listing.  Output column names are a contract with mnemic-web.

-- Each tracer with its run count and latest activity, by name.
CREATE FUNCTION mnemic.tracers()
RETURNS TABLE (tracer text, runs bigint, active_runs bigint,
               first_seen timestamptz, last_seen timestamptz)
AS 'MODULE_PATHNAME', 'mnemic_tracers'
LANGUAGE C STABLE;

-- Runs, newest first; of one tracer when given.  state is 'ended' once an
-- end-of-run message arrived, 'active' while data keeps coming (last_seen
-- within max(3 * period, 10 s) of now()), 'silent' otherwise.
CREATE FUNCTION mnemic.runs(tracer text DEFAULT NULL)
RETURNS TABLE (run uuid, tracer text, started timestamptz,
               last_seen timestamptz, ended timestamptz, duration interval,
               samples bigint, datagrams bigint, lost bigint, state text,
               host text, pid int, program text)
AS 'MODULE_PATHNAME', 'mnemic_runs'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- Everything known about one run; an error for an unknown run.
CREATE FUNCTION mnemic.run_info(run uuid)
RETURNS TABLE (run uuid, tracer text, protocol text, started timestamptz,
               first_seen timestamptz, last_seen timestamptz,
               ended timestamptz, duration interval, state text,
               host text, pid int, program text, python_version text,
               period interval, datagrams bigint, lost bigint,
               samples bigint, metrics int)
AS 'MODULE_PATHNAME', 'mnemic_run_info'
LANGUAGE C STABLE STRICT;

-- The metrics of a run in column order.  points counts every stored point;
-- min_value / max_value / last_value consider finite values only.
CREATE FUNCTION mnemic.metrics(run uuid)
RETURNS TABLE (metric text, idx int, points bigint, first_ts timestamptz,
               last_ts timestamptz, min_value float8, max_value float8,
               last_value float8)
AS 'MODULE_PATHNAME', 'mnemic_metrics'
LANGUAGE C STABLE STRICT;

-- ---------------------------------------------------------------------
-- Series.

-- A metric of a run over [t_from, t_to] (NULL: the metric's first / last
-- point), reduced for a chart `points` pixels wide.  Methods:
--   'm4'   first, min, max and last point of every pixel column (Jugel et
--          al., VLDB 2014): drawn `points` wide, identical to the raw line;
--   'lttb' about `points` points, Largest-Triangle-Three-Buckets;
--   'avg'  the mean of each column, at the column's middle;
--   'raw'  every stored point as stored; an error above 1,000,000 points.
-- Column boundaries come from mnemic.series_grid(): the range is widened
-- outward to whole columns.  Gaps stay gaps: a NULL value is returned for
-- missing values (NULL, NaN, +/-Infinity; 'raw' returns them as stored)
-- and between two points further apart than 5 times the typical spacing
-- (the run's period, else the median spacing of the metric's first block)
-- and, except for 'raw', than a pixel column.  Finite values only enter
-- M4's min/max/first/last, avg's means and LTTB's choice.
CREATE FUNCTION mnemic.series(run uuid, metric text,
                              t_from timestamptz DEFAULT NULL,
                              t_to timestamptz DEFAULT NULL,
                              points int DEFAULT 1000,
                              method text DEFAULT 'm4')
RETURNS TABLE (ts timestamptz, value float8)
AS 'MODULE_PATHNAME', 'mnemic_series'
LANGUAGE C STABLE CALLED ON NULL INPUT ROWS 1000;

-- How series() would answer m4/avg: its pixel columns (start, width,
-- count), the summary level it reads (NULL: raw blocks) and the gap
-- threshold (NULL: no gap detection).
CREATE FUNCTION mnemic.series_grid(run uuid, metric text,
                                   t_from timestamptz DEFAULT NULL,
                                   t_to timestamptz DEFAULT NULL,
                                   points int DEFAULT 1000)
RETURNS TABLE (grid_start timestamptz, column_width interval,
               columns int, level int, gap interval)
AS 'MODULE_PATHNAME', 'mnemic_series_grid'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- ---------------------------------------------------------------------
-- Generic downsampling aggregates, for any table of (ts, value) rows, in any
-- order.  They return an array of points; unnest() it for rows:
--   SELECT p.* FROM unnest((SELECT mnemic.lttb(ts, v, 500) FROM t)) p;
-- NULL, NaN and +/-Infinity values are skipped.
CREATE TYPE mnemic.point AS (ts timestamptz, value float8);

-- The extra arguments repeat the aggregate's, as PostgreSQL passes them.
CREATE FUNCTION mnemic.lttb_accum(internal, timestamptz, float8, int)
RETURNS internal
AS 'MODULE_PATHNAME', 'mnemic_lttb_accum'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION mnemic.lttb_final(internal, timestamptz, float8, int)
RETURNS mnemic.point[]
AS 'MODULE_PATHNAME', 'mnemic_lttb_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

-- Largest-Triangle-Three-Buckets down to n points.
CREATE AGGREGATE mnemic.lttb(ts timestamptz, value float8, n int) (
    SFUNC = mnemic.lttb_accum,
    STYPE = internal,
    FINALFUNC = mnemic.lttb_final,
    FINALFUNC_EXTRA
);

CREATE FUNCTION mnemic.m4_accum(internal, timestamptz, float8, timestamptz,
                                timestamptz, int)
RETURNS internal
AS 'MODULE_PATHNAME', 'mnemic_m4_accum'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION mnemic.m4_final(internal, timestamptz, float8, timestamptz,
                                timestamptz, int)
RETURNS mnemic.point[]
AS 'MODULE_PATHNAME', 'mnemic_m4_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

-- M4 over `width` columns of equal length covering [t_from, t_to]: column
-- c holds t_from + c * w <= ts < t_from + (c + 1) * w, with
-- w = ceil((t_to - t_from + 1 microsecond) / width).  Points outside
-- [t_from, t_to] are ignored.
CREATE AGGREGATE mnemic.m4(ts timestamptz, value float8, t_from timestamptz,
                           t_to timestamptz, width int) (
    SFUNC = mnemic.m4_accum,
    STYPE = internal,
    FINALFUNC = mnemic.m4_final,
    FINALFUNC_EXTRA
);

-- ---------------------------------------------------------------------
-- Export.

-- CSV of a whole run, one line per row (no line terminator): a header
-- "ts,<metric>,<metric>,..." (names quoted as CSV requires), then one line
-- per distinct timestamp in time order, empty fields where a metric has no
-- value at that time.  Timestamps are ISO 8601 in UTC.
CREATE FUNCTION mnemic.export_csv(run uuid)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'mnemic_export_csv'
LANGUAGE C STABLE STRICT;

-- ---------------------------------------------------------------------
-- Housekeeping.

-- Delete a run with its metrics, blocks and summaries.  false if unknown.
CREATE FUNCTION mnemic.delete_run(run uuid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mnemic_delete_run'
LANGUAGE C STRICT VOLATILE;

-- Delete every run last seen longer ago than age; returns how many.
CREATE FUNCTION mnemic.drop_runs_older_than(age interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_drop_runs_older_than'
LANGUAGE C STRICT VOLATILE;
-- roles.sql: who may do what; last in the install script, once every
-- object exists.
--
--   mnemic_reader  reads: the listing, series and export functions, the
--                  tables and views.  mnemic-web connects as a reader.
--   mnemic_owner   a reader that may also delete runs.
--
-- Roles belong to the cluster, not the database, so they are created only
-- when missing: CREATE EXTENSION in a second database must not fail.
-- Functions are invoker's rights; what they read or delete the caller must
-- be allowed to.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mnemic_reader') THEN
        CREATE ROLE mnemic_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mnemic_owner') THEN
        CREATE ROLE mnemic_owner NOLOGIN IN ROLE mnemic_reader;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA mnemic TO mnemic_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA mnemic TO mnemic_reader;

-- Nothing runs for everyone by default: writing and internal functions
-- stay with the extension's owner (and superusers).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA mnemic FROM PUBLIC;

-- Granted by name so that a changed signature elsewhere cannot break the
-- install; names that do not exist are skipped.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'mnemic'::regnamespace
          AND p.proname IN ('tracers', 'runs', 'run_info', 'metrics',
                            'series', 'series_grid', 'export_csv',
                            'lttb', 'm4', 'listener_stats',
                            'listener_malformed')
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO mnemic_reader', f);
    END LOOP;
END
$$;

GRANT EXECUTE ON FUNCTION mnemic.delete_run(uuid),
    mnemic.drop_runs_older_than(interval) TO mnemic_owner;
GRANT DELETE ON mnemic.run, mnemic.metric, mnemic.block, mnemic.summary,
    mnemic.summary_grid TO mnemic_owner;
