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

-- One block size for C and SQL: compact_blocks asks the library.
CREATE FUNCTION mnemic.block_capacity()
RETURNS int
AS 'MODULE_PATHNAME', 'mnemic_block_capacity'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION mnemic.block_capacity() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.block_capacity() TO mnemic_reader;

CREATE OR REPLACE FUNCTION mnemic.compact_blocks(older_than interval DEFAULT '10 minutes',
                                      run uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH mergeable AS (
    SELECT b.metric_id FROM mnemic.block b
    WHERE b.n < mnemic.block_capacity() / 2 AND b.t_last < now() - older_than
      AND (run IS NULL OR b.metric_id IN (
             SELECT m.id FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
             WHERE r.uuid = run))
    GROUP BY b.metric_id HAVING count(*) > 1
), removed AS (
    DELETE FROM mnemic.block b USING mergeable m
    WHERE b.metric_id = m.metric_id AND b.n < mnemic.block_capacity() / 2
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
    FROM points GROUP BY metric_id, seq / mnemic.block_capacity()
    RETURNING metric_id, n, t_last - t_first AS span
), widened AS (
    UPDATE mnemic.metric m SET max_span = greatest(m.max_span, a.span)
    FROM (SELECT metric_id, max(span) AS span FROM added GROUP BY metric_id) a
    WHERE m.id = a.metric_id
    RETURNING m.id
)
SELECT coalesce(sum(n), 0)::bigint FROM added
$$;

-- mnemic_owner may merge small blocks too.
GRANT EXECUTE ON FUNCTION mnemic.compact_blocks(interval, uuid) TO mnemic_owner;
GRANT INSERT ON mnemic.block TO mnemic_owner;
GRANT UPDATE (max_span) ON mnemic.metric TO mnemic_owner;

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

-- Reading profiles (sql/profiles.sql).
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

REVOKE EXECUTE ON FUNCTION
    mnemic.flamegraph(uuid, timestamptz, timestamptz, text, text),
    mnemic.flamegraph_diff(uuid, timestamptz, timestamptz, uuid, timestamptz,
                           timestamptz, text),
    mnemic.top_functions(uuid, timestamptz, timestamptz, text, int, text),
    mnemic.stack_at(uuid, timestamptz, text),
    mnemic.allocations_by_type(uuid, timestamptz, timestamptz, text, text),
    mnemic.build_profile_rollups(uuid),
    mnemic.import_profile(text, text, bytea),
    mnemic.export_profile(uuid, timestamptz, timestamptz, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    mnemic.flamegraph(uuid, timestamptz, timestamptz, text, text),
    mnemic.flamegraph_diff(uuid, timestamptz, timestamptz, uuid, timestamptz,
                           timestamptz, text),
    mnemic.top_functions(uuid, timestamptz, timestamptz, text, int, text),
    mnemic.stack_at(uuid, timestamptz, text),
    mnemic.allocations_by_type(uuid, timestamptz, timestamptz, text, text),
    mnemic.export_profile(uuid, timestamptz, timestamptz, text, text)
    TO mnemic_reader;
GRANT SELECT ON mnemic.prof_frame, mnemic.prof_stack, mnemic.prof_type,
    mnemic.prof_run, mnemic.prof_run_frame, mnemic.prof_run_stack,
    mnemic.prof_thread, mnemic.prof_run_type, mnemic.prof_sample,
    mnemic.prof_rollup, mnemic.prof_alloc, mnemic.prof_free TO mnemic_reader;
GRANT DELETE ON mnemic.prof_run, mnemic.prof_run_frame, mnemic.prof_run_stack,
    mnemic.prof_thread, mnemic.prof_run_type, mnemic.prof_sample,
    mnemic.prof_rollup, mnemic.prof_alloc, mnemic.prof_free TO mnemic_owner;
GRANT EXECUTE ON FUNCTION mnemic.import_profile(text, text, bytea) TO mnemic_owner;

-- Delete the frames, stacks and type names no run uses any more (they are
-- shared by every run, so deleting a run leaves them).  Writers hold a
-- shared lock on the same key while they store profiles, and forget the
-- ids they cached when the generation moves.  Returns the rows deleted;
-- the listener's housekeeping calls it after retention dropped runs.
CREATE FUNCTION mnemic.collect_profile_garbage()
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stacks bigint;
    frames bigint;
    types bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7132051620131103);
    WITH RECURSIVE used (id) AS (
        SELECT stack_id FROM mnemic.prof_run_stack WHERE stack_id IS NOT NULL
        UNION
        SELECT s.parent FROM mnemic.prof_stack s JOIN used u ON s.id = u.id
        WHERE s.parent <> 0
    )
    DELETE FROM mnemic.prof_stack s WHERE NOT EXISTS (
        SELECT FROM used u WHERE u.id = s.id);
    GET DIAGNOSTICS stacks = ROW_COUNT;
    DELETE FROM mnemic.prof_frame f
    WHERE NOT EXISTS (SELECT FROM mnemic.prof_stack s WHERE s.frame_id = f.id)
      AND NOT EXISTS (SELECT FROM mnemic.prof_run_frame r WHERE r.frame_id = f.id);
    GET DIAGNOSTICS frames = ROW_COUNT;
    DELETE FROM mnemic.prof_type t
    WHERE NOT EXISTS (SELECT FROM mnemic.prof_run_type r WHERE r.type_id = t.id);
    GET DIAGNOSTICS types = ROW_COUNT;
    IF stacks + frames + types > 0 THEN
        PERFORM nextval('mnemic.prof_gc_generation');
    END IF;
    RETURN stacks + frames + types;
END
$$;
REVOKE EXECUTE ON FUNCTION mnemic.collect_profile_garbage() FROM PUBLIC;

-- runs() and run_info() say how many profile samples a run has.
DROP FUNCTION mnemic.runs(text);
DROP FUNCTION mnemic.run_info(uuid);
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
REVOKE EXECUTE ON FUNCTION mnemic.runs(text), mnemic.run_info(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.runs(text), mnemic.run_info(uuid) TO mnemic_reader;

-- ---------------------------------------------------------------------
-- Beyond one machine: a coordinator's nodes (sql/nodes.sql), and call
-- trees of several runs merged (sql/profiles.sql).
CREATE TABLE mnemic.node (
    name   text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]{1,40}$'),
    server name NOT NULL UNIQUE,
    added  timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mnemic.node', '');
GRANT SELECT ON mnemic.node TO mnemic_reader;

CREATE FUNCTION mnemic.add_node(name text, conninfo text)
RETURNS void
AS 'MODULE_PATHNAME', 'mnemic_add_node'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mnemic.remove_node(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mnemic_remove_node'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION mnemic.nodes()
RETURNS TABLE (node text, state text, runs bigint, last_seen timestamptz,
               version text, detail text)
AS 'MODULE_PATHNAME', 'mnemic_nodes'
LANGUAGE C VOLATILE;

CREATE FUNCTION mnemic.node_registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mnemic_node_registry_changed'
LANGUAGE C;

CREATE TRIGGER node_registry_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mnemic.node
FOR EACH STATEMENT EXECUTE FUNCTION mnemic.node_registry_changed();

CREATE FUNCTION mnemic.flamegraph_merged(runs uuid[],
                                         t_from timestamptz DEFAULT NULL,
                                         t_to timestamptz DEFAULT NULL,
                                         weight text DEFAULT 'cpu',
                                         thread text DEFAULT NULL)
RETURNS TABLE (node int, parent int, depth int, function text, file text,
               line int, self float8, total float8)
AS 'MODULE_PATHNAME', 'mnemic_flamegraph_merged'
LANGUAGE C STABLE CALLED ON NULL INPUT;

REVOKE EXECUTE ON FUNCTION mnemic.add_node(text, text),
    mnemic.remove_node(text), mnemic.nodes(), mnemic.node_registry_changed(),
    mnemic.flamegraph_merged(uuid[], timestamptz, timestamptz, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.nodes(),
    mnemic.flamegraph_merged(uuid[], timestamptz, timestamptz, text, text)
    TO mnemic_reader;

-- Signed datagrams (pg_mnemic.auth): the keys, their functions and the
-- trigger that gets a committed change to the listener; listener_stats()
-- gains the counters of dropped datagrams and the number of keys in use.
-- One secret per key id: the id (0 to 255) is the byte a signed datagram
-- names its key with.  Only the extension's owner and superusers may read
-- it (roles.sql): whoever has a secret can write traces.  A committed
-- change reaches the listener at once; the listener also reads the table
-- again once a minute.
CREATE TABLE mnemic.ingest_key (
    key_id  int PRIMARY KEY CHECK (key_id BETWEEN 0 AND 255),
    secret  bytea NOT NULL CHECK (length(secret) BETWEEN 16 AND 64),
    added   timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mnemic.ingest_key', '');

-- Marks a transaction that changed the keys; when it commits, the listener
-- is asked to read them again.
CREATE FUNCTION mnemic.ingest_key_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mnemic_ingest_key_changed'
LANGUAGE C;

CREATE TRIGGER ingest_key_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mnemic.ingest_key
FOR EACH STATEMENT EXECUTE FUNCTION mnemic.ingest_key_changed();

-- Add a key and return it as a client takes it: 'ID:HEX' (dolon's key=,
-- --key and DOLON_KEY).  The secret is 16 to 64 bytes; 32 random ones are
-- the right size for HMAC-SHA-256.
--   SELECT mnemic.add_ingest_key(1, decode('<openssl rand -hex 32>', 'hex'));
CREATE FUNCTION mnemic.add_ingest_key(key_id int, secret bytea)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF add_ingest_key.key_id IS NULL OR add_ingest_key.secret IS NULL THEN
        RAISE EXCEPTION 'an ingest key needs a key id and a secret'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF add_ingest_key.key_id NOT BETWEEN 0 AND 255 THEN
        RAISE EXCEPTION 'ingest key id % is out of range', add_ingest_key.key_id
            USING ERRCODE = 'numeric_value_out_of_range',
                  HINT = 'Key ids are 0 to 255: one byte of a signed datagram names its key.';
    END IF;
    IF length(add_ingest_key.secret) NOT BETWEEN 16 AND 64 THEN
        RAISE EXCEPTION 'an ingest key''s secret must be 16 to 64 bytes, not %',
                        length(add_ingest_key.secret)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 32 random bytes: mnemic.add_ingest_key(key_id) makes them.';
    END IF;
    BEGIN
        INSERT INTO mnemic.ingest_key (key_id, secret)
        VALUES (add_ingest_key.key_id, add_ingest_key.secret);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'ingest key % already exists', add_ingest_key.key_id
            USING ERRCODE = 'duplicate_object',
                  HINT = format('Drop it first with mnemic.drop_ingest_key(%s), or add the new secret under another key id and move the clients to it.',
                                add_ingest_key.key_id);
    END;
    IF current_database() <> coalesce(current_setting('pg_mnemic.database', true),
                                      current_database()) THEN
        RAISE WARNING 'the listener receives into database "%", not this one: it does not use this key',
                      current_setting('pg_mnemic.database');
    END IF;
    RETURN add_ingest_key.key_id || ':' || encode(add_ingest_key.secret, 'hex');
END
$$;

-- The same with a new random secret of 32 bytes (244 random bits, from
-- PostgreSQL's strong random source through gen_random_uuid()).
--   SELECT mnemic.add_ingest_key(2);
CREATE FUNCTION mnemic.add_ingest_key(key_id int)
RETURNS text
LANGUAGE sql VOLATILE
AS $$
SELECT mnemic.add_ingest_key(key_id,
         decode(replace(gen_random_uuid()::text || gen_random_uuid()::text,
                        '-', ''), 'hex'))
$$;

-- Remove a key: datagrams signed with it are dropped (unknown_key in
-- listener_stats()) as soon as the transaction commits.
--   SELECT mnemic.drop_ingest_key(1);
CREATE FUNCTION mnemic.drop_ingest_key(key_id int)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    DELETE FROM mnemic.ingest_key k WHERE k.key_id = drop_ingest_key.key_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ingest key % does not exist', drop_ingest_key.key_id
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT key_id FROM mnemic.ingest_key lists the keys.';
    END IF;
END
$$;
-- Per key id, the datagrams signed with it that the listener took since the
-- server started, and when the latest arrived: which keys the clients still
-- use (see the key rotation recipe in docs/sql.md).  Ids never used are left
-- out; a dropped key keeps its row until the server restarts.
--   SELECT * FROM mnemic.ingest_key_usage();
CREATE FUNCTION mnemic.ingest_key_usage(
    OUT key_id int, OUT datagrams bigint, OUT last_used timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mnemic_ingest_key_usage'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- roles.sql grants the readers every table, but not this one.
REVOKE ALL ON mnemic.ingest_key FROM mnemic_reader;
REVOKE EXECUTE ON FUNCTION mnemic.ingest_key_changed(),
    mnemic.add_ingest_key(int, bytea), mnemic.add_ingest_key(int),
    mnemic.drop_ingest_key(int), mnemic.ingest_key_usage() FROM PUBLIC;

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
    OUT seq_resets          bigint,
    OUT bad_auth            bigint,
    OUT unknown_key         bigint,
    OUT unsigned            bigint,
    OUT replayed            bigint,
    OUT ingest_keys         int)
RETURNS record
AS 'MODULE_PATHNAME', 'mnemic_listener_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
REVOKE EXECUTE ON FUNCTION mnemic.listener_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.listener_stats() TO mnemic_reader;

-- Listing at fleet scale (runs() pages and filters, changed_since).  Runs
-- and tracers remember the transaction that last changed them, runs are
-- indexed in the listing's orders and by when they stop being active.
ALTER TABLE mnemic.tracer ADD COLUMN changed xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE mnemic.run ADD COLUMN changed xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE FUNCTION mnemic.active_until(last_seen timestamptz, period interval)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'mnemic_active_until'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

DROP INDEX mnemic.run_tracer;
CREATE INDEX run_tracer_started ON mnemic.run
    (tracer_id, (coalesce(started, first_seen)), uuid);
CREATE INDEX run_started ON mnemic.run ((coalesce(started, first_seen)), uuid);
CREATE INDEX run_changed ON mnemic.run (changed);
CREATE INDEX run_active_until ON mnemic.run
    (mnemic.active_until(last_seen, period)) WHERE ended IS NULL;

CREATE FUNCTION mnemic.change_cursor()
RETURNS text
AS 'MODULE_PATHNAME', 'mnemic_change_cursor'
LANGUAGE C STABLE;

DROP FUNCTION mnemic.tracers();
CREATE FUNCTION mnemic.tracers(name text DEFAULT NULL, host text DEFAULT NULL,
                               program text DEFAULT NULL, state text DEFAULT NULL,
                               t_from timestamptz DEFAULT NULL,
                               t_to timestamptz DEFAULT NULL,
                               changed_since text DEFAULT NULL)
RETURNS TABLE (tracer text, runs bigint, active_runs bigint,
               first_seen timestamptz, last_seen timestamptz)
AS 'MODULE_PATHNAME', 'mnemic_tracers'
LANGUAGE C STABLE CALLED ON NULL INPUT;

DROP FUNCTION mnemic.runs(text);
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

REVOKE EXECUTE ON FUNCTION mnemic.active_until(timestamptz, interval),
    mnemic.change_cursor(),
    mnemic.tracers(text, text, text, text, timestamptz, timestamptz, text),
    mnemic.runs(text, text, text, text, timestamptz, timestamptz, timestamptz,
                uuid, int, text, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.active_until(timestamptz, interval),
    mnemic.change_cursor(),
    mnemic.tracers(text, text, text, text, timestamptz, timestamptz, text),
    mnemic.runs(text, text, text, text, timestamptz, timestamptz, timestamptz,
                uuid, int, text, boolean)
    TO mnemic_reader;
GRANT UPDATE (changed) ON mnemic.tracer TO mnemic_owner;
-- End of: listing at fleet scale.

-- The threads of a run's stack samples (sql/profiles.sql).
CREATE FUNCTION mnemic.threads(run uuid, t_from timestamptz DEFAULT NULL,
                               t_to timestamptz DEFAULT NULL)
RETURNS TABLE (thread text, native_ids bigint[], samples bigint,
               cpu_seconds float8, wall_seconds float8)
AS 'MODULE_PATHNAME', 'mnemic_threads'
LANGUAGE C STABLE CALLED ON NULL INPUT;
REVOKE EXECUTE ON FUNCTION mnemic.threads(uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mnemic.threads(uuid, timestamptz, timestamptz) TO mnemic_reader;
