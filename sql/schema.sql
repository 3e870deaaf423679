-- schema.sql: tables and views of pg_mnemic.  The install script
-- pg_mnemic--<version>.sql is this file followed by the other sql/*.sql parts,
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
    first_seq      bigint,                -- v1 sequence numbers of the
    max_seq        bigint,                --   current sequence (sequence.h)
    lost           bigint NOT NULL DEFAULT 0,
    samples        bigint NOT NULL DEFAULT 0,
    seq_datagrams  bigint,                -- datagrams of the current sequence
    seq_resets     bigint NOT NULL DEFAULT 0 -- sequences started anew
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
