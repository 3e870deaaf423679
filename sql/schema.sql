-- schema.sql: the tables, types and views of pg_mnemic, all of them.  The
-- install script pg_mnemic--<version>.sql is this file followed by the other
-- sql/*.sql parts (one per concept, functions only), concatenated by
-- pg_mnemic.mk in the order it names them; roles.sql comes last.

\echo Use "CREATE EXTENSION pg_mnemic" to load this file. \quit

-- A tracer is a traced program by name (dolon's tracer_name / app_name).
-- changed: the transaction that last deleted runs of it (see run.changed).
CREATE TABLE mnemic.tracer (
    id      serial PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    created timestamptz NOT NULL DEFAULT now(),
    changed xid8 NOT NULL DEFAULT pg_current_xact_id()
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
    first_seq      bigint,                -- v1 sequence numbers of the
    max_seq        bigint,                --   current sequence (sequence.h)
    lost           bigint NOT NULL DEFAULT 0,
    samples        bigint NOT NULL DEFAULT 0,
    seq_datagrams  bigint,                -- datagrams of the current sequence
    seq_resets     bigint NOT NULL DEFAULT 0, -- sequences started anew
    -- The transaction that last wrote the run (the store sets it with every
    -- flush): what mnemic.runs(changed_since => ...) finds changed runs by.
    changed        xid8 NOT NULL DEFAULT pg_current_xact_id()
);

-- Until when a run counts as active without new data: last_seen plus
-- three periods, at least 10 s (a period's days and months count as 24 h
-- and 30 days, so the answer is the same in every time zone).
CREATE FUNCTION mnemic.active_until(last_seen timestamptz, period interval)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'mnemic_active_until'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The listing's orders, newest first (runs() pages by keyset on them):
-- within a tracer, and over all runs.
CREATE INDEX run_tracer_started ON mnemic.run
    (tracer_id, (coalesce(started, first_seen)), uuid);
CREATE INDEX run_started ON mnemic.run ((coalesce(started, first_seen)), uuid);
-- What changed since a transaction; which runs stop being active when.
CREATE INDEX run_changed ON mnemic.run (changed);
CREATE INDEX run_active_until ON mnemic.run
    (mnemic.active_until(last_seen, period)) WHERE ended IS NULL;

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

-- Points per block row, as the library writes them (listener/block.h):
-- what mnemic.compact_blocks() fills blocks up to.  The partial index
-- block_small above names half of it.
CREATE FUNCTION mnemic.block_capacity()
RETURNS int
AS 'MODULE_PATHNAME', 'mnemic_block_capacity'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Summaries: per metric, per level, per time bucket, the aggregates M4 and
-- avg need.  Level L has buckets 1 ms * 4^L long (L = 0..17), aligned on
-- the PostgreSQL epoch (2000-01-01 00:00 UTC).  A metric keeps the levels
-- summary_grid.finest..coarsest (11 of them): finest is chosen at the
-- metric's first block so that a finest bucket holds 16 points or more at
-- the block's median spacing (else the run's period, else 100 ms).
-- Finite values only enter n/sum/first/last/min/max; NULL, NaN and
-- +/-Infinity are "missing" and only counted in missing/missing_ts.
-- Rows are maintained by the store (listener/summary.c) in the transaction
-- that writes the points: merged in memory, then upserted once per
-- transaction, or at the end of each run's subtransaction in the listener.
-- Rows of deleted runs go with mnemic.delete_run(); there is no foreign key.
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
    sum        float8 NOT NULL,          -- of the finite values (saturates, below)
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

-- ---------------------------------------------------------------------
-- Profiles: sampled call stacks and allocations (docs/protocol.md kinds
-- 0x10-0x16, docs/storage.md "Profiles").  Frames and stacks are stored once
-- per database and shared by every run, so comparing runs is a join; runs
-- keep their clients' ids (the wire's u32 as int4, the same 32 bits) and
-- what they stand for.  Rows of deleted runs go with mnemic.delete_run();
-- frames and stacks no run uses any more are collected by housekeeping.

-- A function, file and first line, of one kind: 0 Python, 1 native, 2 an
-- asyncio task, 3 a marker the client added.
CREATE TABLE mnemic.prof_frame (
    id       serial PRIMARY KEY,
    kind     smallint NOT NULL,
    function text NOT NULL,
    file     text NOT NULL,
    line     int NOT NULL,                -- first line of the function, 0 unknown
    UNIQUE (function, file, line, kind)
);

-- A call stack: the stack of its callers (parent; 0 for none) with one
-- frame on top, executing at line.  The whole path is kept with it,
-- outermost first (frames[depth] = frame_id), so that a flame graph reads
-- one row per distinct stack instead of walking up the tree.
CREATE TABLE mnemic.prof_stack (
    id       serial PRIMARY KEY,
    parent   int NOT NULL,
    frame_id int NOT NULL,
    line     int NOT NULL,                -- line being executed, 0 unknown
    depth    int NOT NULL,                -- 1 for an outermost frame
    frames   int[] NOT NULL,              -- the path's frames
    lines    int[] NOT NULL,              -- and the line executed in each
    UNIQUE (parent, frame_id, line)
);

-- Bumped whenever frames, stacks or types no run uses are collected, so
-- that writers forget the ids they cached (mnemic.collect_profile_garbage).
CREATE SEQUENCE mnemic.prof_gc_generation;

-- An allocated type's name.
CREATE TABLE mnemic.prof_type (
    id   serial PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- Per run: what its profile holds, and how far its rollups are built
-- (built_until[L]: every bucket of level L before it is in prof_rollup).
CREATE TABLE mnemic.prof_run (
    run_id        int PRIMARY KEY,
    stack_samples bigint NOT NULL DEFAULT 0,
    alloc_samples bigint NOT NULL DEFAULT 0,
    frees         bigint NOT NULL DEFAULT 0,
    first_sample  timestamptz,
    last_sample   timestamptz,
    max_span      interval NOT NULL DEFAULT '0',  -- longest block, as metric.max_span
    built_until   timestamptz[] NOT NULL DEFAULT '{}'
);

-- The client's frame, stack, thread and type ids of a run.  A stack whose
-- frame or parent is not known yet keeps stack_id NULL until it is.
CREATE TABLE mnemic.prof_run_frame (
    run_id   int NOT NULL,
    wire_id  int NOT NULL,
    frame_id int NOT NULL,
    PRIMARY KEY (run_id, wire_id)
);
CREATE TABLE mnemic.prof_run_stack (
    run_id      int NOT NULL,
    wire_id     int NOT NULL,
    parent_wire int NOT NULL,
    frame_wire  int NOT NULL,
    line        int NOT NULL,
    stack_id    int,
    PRIMARY KEY (run_id, wire_id)
);
CREATE INDEX prof_run_stack_unresolved ON mnemic.prof_run_stack (run_id)
    WHERE stack_id IS NULL;
CREATE TABLE mnemic.prof_thread (
    run_id    int NOT NULL,
    wire_id   int NOT NULL,
    native_id bigint NOT NULL,            -- the OS thread id, 0 unknown
    name      text NOT NULL,
    PRIMARY KEY (run_id, wire_id)
);
CREATE TABLE mnemic.prof_run_type (
    run_id  int NOT NULL,
    wire_id int NOT NULL,
    type_id int NOT NULL,
    PRIMARY KEY (run_id, wire_id)
);

-- Stack samples of one thread of a run, consecutive ones packed into a
-- row as parallel arrays: time, the client's stack id, how many samples
-- the entry stands for (1 from a client; an imported profile may sum
-- several), the microseconds they stand for, and of those the ones on CPU.
CREATE TABLE mnemic.prof_sample (
    run_id  int NOT NULL,
    thread  int NOT NULL,
    t_first timestamptz NOT NULL,
    t_last  timestamptz NOT NULL,
    n       int NOT NULL,
    ts      timestamptz[] NOT NULL,
    stack   int[] NOT NULL,
    samples int[] NOT NULL,
    wall    int[] NOT NULL,
    cpu     int[] NOT NULL
);
CREATE INDEX prof_sample_run_time ON mnemic.prof_sample (run_id, t_first);

-- The samples of a thread in one time bucket of a level (10 s, 1 min,
-- 10 min, 1 h, 6 h, 1 d), summed by stack: what makes a flame graph of any
-- window cost in proportion to the distinct stacks in it.
CREATE TABLE mnemic.prof_rollup (
    run_id  int NOT NULL,
    level   smallint NOT NULL,
    bucket  timestamptz NOT NULL,
    thread  int NOT NULL,
    stack   int[] NOT NULL,
    samples int[] NOT NULL,
    wall    bigint[] NOT NULL,
    cpu     bigint[] NOT NULL,
    PRIMARY KEY (run_id, level, bucket, thread)
);

-- Sampled allocations of one thread (the bytes each stands for, its type,
-- the client's allocation id) and frees of sampled allocations.
CREATE TABLE mnemic.prof_alloc (
    run_id   int NOT NULL,
    thread   int NOT NULL,
    t_first  timestamptz NOT NULL,
    t_last   timestamptz NOT NULL,
    n        int NOT NULL,
    ts       timestamptz[] NOT NULL,
    stack    int[] NOT NULL,
    type     int[] NOT NULL,
    bytes    bigint[] NOT NULL,
    alloc_id bigint[] NOT NULL
);
CREATE INDEX prof_alloc_run_time ON mnemic.prof_alloc (run_id, t_first);
CREATE TABLE mnemic.prof_free (
    run_id   int NOT NULL,
    t_first  timestamptz NOT NULL,
    t_last   timestamptz NOT NULL,
    n        int NOT NULL,
    ts       timestamptz[] NOT NULL,
    alloc_id bigint[] NOT NULL
);
CREATE INDEX prof_free_run_time ON mnemic.prof_free (run_id, t_first);

-- The profile tables' arrays go to TOAST, compressed: with lz4 where the
-- server has it (Debian's does), which compresses them several times
-- faster than the default pglz, for a few percent more space.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
               AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE mnemic.prof_sample
            ALTER COLUMN ts SET COMPRESSION lz4,
            ALTER COLUMN stack SET COMPRESSION lz4,
            ALTER COLUMN samples SET COMPRESSION lz4,
            ALTER COLUMN wall SET COMPRESSION lz4,
            ALTER COLUMN cpu SET COMPRESSION lz4;
        ALTER TABLE mnemic.prof_rollup
            ALTER COLUMN stack SET COMPRESSION lz4,
            ALTER COLUMN samples SET COMPRESSION lz4,
            ALTER COLUMN wall SET COMPRESSION lz4,
            ALTER COLUMN cpu SET COMPRESSION lz4;
        ALTER TABLE mnemic.prof_alloc
            ALTER COLUMN ts SET COMPRESSION lz4,
            ALTER COLUMN stack SET COMPRESSION lz4,
            ALTER COLUMN type SET COMPRESSION lz4,
            ALTER COLUMN bytes SET COMPRESSION lz4,
            ALTER COLUMN alloc_id SET COMPRESSION lz4;
        ALTER TABLE mnemic.prof_free
            ALTER COLUMN ts SET COMPRESSION lz4,
            ALTER COLUMN alloc_id SET COMPRESSION lz4;
    END IF;
END
$$;

-- A point of a series, as the downsampling aggregates return them.
CREATE TYPE mnemic.point AS (ts timestamptz, value float8);

-- Every stored point with names, for plain SQL.
CREATE VIEW mnemic.samples AS
SELECT t.name AS tracer, r.uuid AS run, m.name AS metric, p.ts, p.value
FROM mnemic.block b
JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id
CROSS JOIN LATERAL unnest(b.ts, b.value) AS p (ts, value);

-- ---------------------------------------------------------------------
-- Beyond one machine: a coordinator's nodes (sql/nodes.sql).  A database
-- with a row here is a coordinator: the reading functions answer from
-- its nodes.  server is the node's postgres_fdw foreign server, which
-- mnemic.add_node() creates with a user mapping for PUBLIC.
CREATE TABLE mnemic.node (
    name   text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]{1,40}$'),
    server name NOT NULL UNIQUE,
    added  timestamptz NOT NULL DEFAULT now()
);
-- pg_dump keeps the registry with the foreign servers it names.
SELECT pg_catalog.pg_extension_config_dump('mnemic.node', '');

-- The secrets that sign datagrams (pg_mnemic.auth; the functions are in
-- ingest_keys.sql).  One secret per key id: the id (0 to 255) is the byte a
-- signed datagram names its key with.  Only the extension's owner and
-- superusers may read it (roles.sql): whoever has a secret can write
-- traces.  A committed change reaches the listener at once; the listener
-- also reads the table again once a minute.
CREATE TABLE mnemic.ingest_key (
    key_id  int PRIMARY KEY CHECK (key_id BETWEEN 0 AND 255),
    secret  bytea NOT NULL CHECK (length(secret) BETWEEN 16 AND 64),
    added   timestamptz NOT NULL DEFAULT now()
);
-- pg_dump keeps the keys, so that clients are not refused after a restore
-- (and a dump holds the secrets).
SELECT pg_catalog.pg_extension_config_dump('mnemic.ingest_key', '');
