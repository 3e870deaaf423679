-- listing.sql: listing tracers, runs and metrics.  Output column names are a
-- contract with mnemic-web.

-- A cursor for "now", to hand to tracers() or runs() later as
-- changed_since: they then answer only what changed after it.  Take it in
-- the same statement as the listing it goes with.  Its text is opaque.
CREATE FUNCTION mnemic.change_cursor()
RETURNS text
AS 'MODULE_PATHNAME', 'mnemic_change_cursor'
LANGUAGE C STABLE;

-- Each tracer with its run count and latest activity, by name; runs not
-- described yet count under a NULL tracer, last.  name keeps the tracers
-- whose name contains it (ignoring case).  The run filters (as runs()
-- takes them) make the counts count only the runs they let through, and
-- leave out tracers with none.  With changed_since, only the tracers whose
-- row may have moved since the cursor: a run of theirs changed (see
-- runs()) or was deleted -- those are listed even without runs left.
CREATE FUNCTION mnemic.tracers(name text DEFAULT NULL, host text DEFAULT NULL,
                               program text DEFAULT NULL, state text DEFAULT NULL,
                               t_from timestamptz DEFAULT NULL,
                               t_to timestamptz DEFAULT NULL,
                               changed_since text DEFAULT NULL)
RETURNS TABLE (tracer text, runs bigint, active_runs bigint,
               first_seen timestamptz, last_seen timestamptz)
AS 'MODULE_PATHNAME', 'mnemic_tracers'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- Runs, newest first (by started, then run); of one tracer when given, or
-- of those without a tracer yet with unnamed => true.  state is 'ended'
-- once an end-of-run message arrived, 'active' while data keeps coming
-- (until mnemic.active_until(last_seen, period): last_seen within
-- max(3 * period, 10 s) of now()), 'silent' otherwise.  The counts of
-- profile samples (stack and allocation) are 0 for a run without.
-- Filters, each ignored when NULL:
--   host, program   contains this text (ignoring case)
--   state           'active', 'silent' or 'ended'
--   t_from, t_to    alive at some moment between: started by t_to and
--                   last seen (or ended) at t_from or later
-- Paging by keyset: before_started and before_run, the started and run of
-- the last row of a page, give the page after it; page_size caps the rows.
-- changed_since: only the runs written, or no longer active, since the
-- cursor (mnemic.change_cursor()); a deleted run is not listed, but its
-- tracer shows up in tracers(changed_since => ...).
CREATE FUNCTION mnemic.runs(tracer text DEFAULT NULL, host text DEFAULT NULL,
                            program text DEFAULT NULL, state text DEFAULT NULL,
                            t_from timestamptz DEFAULT NULL,
                            t_to timestamptz DEFAULT NULL,
                            before_started timestamptz DEFAULT NULL,
                            before_run uuid DEFAULT NULL,
                            page_size int DEFAULT NULL,
                            changed_since text DEFAULT NULL,
                            unnamed boolean DEFAULT false)
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
