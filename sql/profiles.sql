-- profiles.sql: reading sampled call stacks and allocations.  C code in
-- pg_mnemic/profile_*.c.  For every function: NULL times mean the run's
-- first or last sample; weight is one of
--   'cpu'     seconds on CPU,
--   'wall'    seconds (the time the samples stand for, on CPU or not),
--   'samples' stack samples,
--   'alloc'   bytes allocated (sampled allocations, by what each stands for),
--   'inuse'   bytes allocated in the window and not freed by t_to;
-- an unknown run, weight or thread is an error that names it.

-- The merged call tree of a window: one row per node, root first (node 0,
-- parent NULL, function 'all'), then depth first, children in the order of
-- their function, file and line.  A node is one frame under its parent
-- node; total is what the samples whose path passes through it weigh,
-- self what those that end in it weigh.  Samples outside Python code show
-- as '(no Python frame)', samples of a stack whose definition never arrived
-- as '(stack not defined)'.
CREATE FUNCTION mnemic.flamegraph(run uuid, t_from timestamptz DEFAULT NULL,
                                  t_to timestamptz DEFAULT NULL,
                                  weight text DEFAULT 'cpu',
                                  thread text DEFAULT NULL)
RETURNS TABLE (node int, parent int, depth int, function text, file text,
               line int, self float8, total float8)
AS 'MODULE_PATHNAME', 'mnemic_flamegraph'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- The call tree of two windows (of two runs, or of one) with the values of
-- each side, raw: normalising each side to its own total is the reader's.
CREATE FUNCTION mnemic.flamegraph_diff(run_a uuid, from_a timestamptz,
                                       to_a timestamptz, run_b uuid,
                                       from_b timestamptz, to_b timestamptz,
                                       weight text DEFAULT 'cpu')
RETURNS TABLE (node int, parent int, depth int, function text, file text,
               line int, self_a float8, total_a float8, self_b float8,
               total_b float8)
AS 'MODULE_PATHNAME', 'mnemic_flamegraph_diff'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- The n functions with the most self weight (then total), of that thread
-- when given: a recursive function counts once in its total.
CREATE FUNCTION mnemic.top_functions(run uuid, t_from timestamptz DEFAULT NULL,
                                     t_to timestamptz DEFAULT NULL,
                                     weight text DEFAULT 'cpu',
                                     n int DEFAULT 10,
                                     thread text DEFAULT NULL)
RETURNS TABLE (function text, file text, line int, self float8, total float8)
AS 'MODULE_PATHNAME', 'mnemic_top_functions'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- The stack sample nearest to ts (of that thread when given; at equal
-- distance the earlier), one row per frame from the outermost (depth 1),
-- with the line executed in each and the process's RSS at that moment.
CREATE FUNCTION mnemic.stack_at(run uuid, ts timestamptz,
                                thread text DEFAULT NULL)
RETURNS TABLE (thread text, sampled_at timestamptz, rss_bytes float8,
               depth int, function text, file text, line int)
AS 'MODULE_PATHNAME', 'mnemic_stack_at'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- The threads of a run's stack samples in a window, by name (what the
-- thread argument of flamegraph(), top_functions() and stack_at() names),
-- summed as a flame graph sums them, the most samples first.
CREATE FUNCTION mnemic.threads(run uuid, t_from timestamptz DEFAULT NULL,
                               t_to timestamptz DEFAULT NULL)
RETURNS TABLE (thread text, native_ids bigint[], samples bigint,
               cpu_seconds float8, wall_seconds float8)
AS 'MODULE_PATHNAME', 'mnemic_threads'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- Sampled allocations of a window by type, the most bytes first (count is
-- the number of sampled allocations); with a function, only those whose
-- stack holds a frame of that function.  weight is 'alloc' or 'inuse'.
CREATE FUNCTION mnemic.allocations_by_type(run uuid,
                                           t_from timestamptz DEFAULT NULL,
                                           t_to timestamptz DEFAULT NULL,
                                           weight text DEFAULT 'alloc',
                                           function text DEFAULT NULL)
RETURNS TABLE (type text, bytes bigint, count bigint)
AS 'MODULE_PATHNAME', 'mnemic_allocations_by_type'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- Build the rollups of every closed time bucket not built yet (of one run,
-- or of all): the listener's housekeeping does it once a minute; readers
-- never need it (they read raw samples where rollups are missing).
-- Returns the rollup rows written.
CREATE FUNCTION mnemic.build_profile_rollups(run uuid DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_build_profile_rollups'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

-- A profile file stored as a new run of tracer (protocol 'import', ended
-- at its last sample); returns the run.  Formats: 'vmprof' (the .prof file
-- vmprof writes, gzipped or not), 'collapsed' (folded stacks: a;b;c 12),
-- 'speedscope' (its JSON file format) and 'pprof' (gzipped profile.proto).
-- A file may be gzipped whatever its format.  Malformed input is an error
-- naming the line or byte where it goes wrong, and nothing is stored.
CREATE FUNCTION mnemic.import_profile(tracer text, format text, data bytea)
RETURNS uuid
AS 'MODULE_PATHNAME', 'mnemic_import_profile'
LANGUAGE C VOLATILE CALLED ON NULL INPUT
-- mnemic_owner imports (mnemic-web's upload) without writing to the tables
-- itself: the function writes with its owner's rights, on a fixed path.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- A window of a run as a file: 'collapsed', 'speedscope' or 'pprof'
-- (gzipped).  Values are integers of the weight's unit: microseconds for
-- cpu and wall, samples, or bytes.
CREATE FUNCTION mnemic.export_profile(run uuid, t_from timestamptz DEFAULT NULL,
                                      t_to timestamptz DEFAULT NULL,
                                      format text DEFAULT 'speedscope',
                                      weight text DEFAULT 'cpu')
RETURNS bytea
AS 'MODULE_PATHNAME', 'mnemic_export_profile'
LANGUAGE C STABLE CALLED ON NULL INPUT;

-- The call tree of several runs' windows merged: a node is a path of
-- (function, file, line) from the root, its values the sums over the runs
-- (a run named twice counts once).  Order and columns as flamegraph().
-- On a coordinator each run's tree comes from its node.
CREATE FUNCTION mnemic.flamegraph_merged(runs uuid[],
                                         t_from timestamptz DEFAULT NULL,
                                         t_to timestamptz DEFAULT NULL,
                                         weight text DEFAULT 'cpu',
                                         thread text DEFAULT NULL)
RETURNS TABLE (node int, parent int, depth int, function text, file text,
               line int, self float8, total float8)
AS 'MODULE_PATHNAME', 'mnemic_flamegraph_merged'
LANGUAGE C STABLE CALLED ON NULL INPUT;
