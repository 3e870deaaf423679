-- roles.sql: who may do what; last in the install script, once every
-- object exists.
--
--   mnemic_reader  reads: the listing, series and export functions, the
--                  tables and views.  mnemic-web connects as a reader.
--   mnemic_owner   a reader that may also delete runs, merge small
--                  blocks (compact_blocks) and import profile files
--                  (import_profile, which writes with its owner's rights).
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
-- but not the secrets that sign datagrams: the extension's owner only.
REVOKE ALL ON mnemic.ingest_key FROM mnemic_reader;

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
                            'listener_malformed', 'block_capacity',
                            'flamegraph', 'flamegraph_diff', 'top_functions',
                            'stack_at', 'allocations_by_type',
                            'export_profile', 'change_cursor', 'threads',
                            'active_until')
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO mnemic_reader', f);
    END LOOP;
END
$$;

-- Beyond one machine: readers see the nodes' state and merged trees;
-- registering nodes stays with superusers (it creates servers).
GRANT EXECUTE ON FUNCTION mnemic.nodes(),
    mnemic.flamegraph_merged(uuid[], timestamptz, timestamptz, text, text)
    TO mnemic_reader;

GRANT EXECUTE ON FUNCTION mnemic.delete_run(uuid),
    mnemic.drop_runs_older_than(interval),
    mnemic.compact_blocks(interval, uuid),
    mnemic.import_profile(text, text, bytea) TO mnemic_owner;
GRANT DELETE ON mnemic.run, mnemic.metric, mnemic.block, mnemic.summary,
    mnemic.summary_grid TO mnemic_owner;
-- Deleting runs marks their tracers changed (tracers(changed_since)).
GRANT UPDATE (changed) ON mnemic.tracer TO mnemic_owner;
GRANT DELETE ON mnemic.prof_run, mnemic.prof_run_frame, mnemic.prof_run_stack,
    mnemic.prof_thread, mnemic.prof_run_type, mnemic.prof_sample,
    mnemic.prof_rollup, mnemic.prof_alloc, mnemic.prof_free TO mnemic_owner;
-- compact_blocks rewrites blocks and widens metric.max_span.
GRANT INSERT ON mnemic.block TO mnemic_owner;
GRANT UPDATE (max_span) ON mnemic.metric TO mnemic_owner;
