-- listing.sql: listing tracers, runs and metrics.  Output column names are a
-- contract with mnemic-web.

-- Each tracer with its run count and latest activity, by name.
CREATE FUNCTION mnemic.tracers()
RETURNS TABLE (tracer text, runs bigint, active_runs bigint,
               first_seen timestamptz, last_seen timestamptz)
AS 'MODULE_PATHNAME', 'mnemic_tracers'
LANGUAGE C STABLE;

-- Runs, newest first; of one tracer when given.  state is 'ended' once an
-- end-of-run message arrived, 'active' while data keeps coming (last_seen
-- within max(3 * period, 10 s) of now()), 'silent' otherwise.  The counts
-- of profile samples (stack and allocation) are 0 for a run without.
CREATE FUNCTION mnemic.runs(tracer text DEFAULT NULL)
RETURNS TABLE (run uuid, tracer text, started timestamptz,
               last_seen timestamptz, ended timestamptz, duration interval,
               samples bigint, datagrams bigint, lost bigint, state text,
               host text, pid int, program text, stack_samples bigint,
               alloc_samples bigint)
AS 'MODULE_PATHNAME', 'mnemic_runs'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- Everything known about one run; an error for an unknown run.
CREATE FUNCTION mnemic.run_info(run uuid)
RETURNS TABLE (run uuid, tracer text, protocol text, started timestamptz,
               first_seen timestamptz, last_seen timestamptz,
               ended timestamptz, duration interval, state text,
               host text, pid int, program text, python_version text,
               period interval, datagrams bigint, lost bigint,
               samples bigint, metrics int, stack_samples bigint,
               alloc_samples bigint)
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
