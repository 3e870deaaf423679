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

-- How two sums of a bucket merge: as C adds doubles.  A sum beyond the
-- float8 range saturates to +/-Infinity (NaN once it has overflowed both
-- ways) instead of failing: no value a client sends may make a summary
-- write fail, as float8 + would with "value out of range: overflow".
-- Such a bucket's avg is then +/-Infinity or NaN; M4, LTTB, raw points and
-- CSV are exact for any float8.
CREATE FUNCTION mnemic.summary_sum(a float8, b float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'mnemic_summary_sum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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
