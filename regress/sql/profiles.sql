--
-- Profiles: stack and allocation samples sent as binary v1 (kinds
-- 0x10-0x16, docs/protocol.md), read back as flame graphs, top functions,
-- the stack at a moment and allocations by type.  Every answer is checked
-- against a reference written here in plain SQL over the raw samples, so
-- the rollups and the C code must agree with it.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;

-- Little-endian hex of an integer of n bytes, a str16, and a datagram.
CREATE FUNCTION le(v bigint, n int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), '' ORDER BY i)
    FROM generate_series(0, n - 1) i
$$;
CREATE FUNCTION str16(s text) RETURNS text LANGUAGE sql AS $$
    SELECT le(octet_length(s), 2) || encode(convert_to(s, 'UTF8'), 'hex')
$$;
CREATE FUNCTION msg(kind int, body text) RETURNS text LANGUAGE sql AS $$
    SELECT le(kind, 1) || '00' || le(length(body) / 2, 2) || body
$$;
CREATE FUNCTION v1(r uuid, seq int, msgs text[]) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode('4d4e454d' || '0100' || le(cardinality(msgs), 2) ||
                  replace(r::text, '-', '') || le(seq, 4) ||
                  array_to_string(msgs, ''), 'hex')
$$;
-- FRAMES of (id, function, file, first line, kind).
CREATE FUNCTION frames(f text[][]) RETURNS text LANGUAGE sql AS $$
    SELECT msg(16, le(array_length(f, 1), 2) || '0000' || string_agg(
        le(f[i][1]::bigint, 4) || le(f[i][4]::bigint, 4) || le(f[i][5]::bigint, 1) ||
        str16(f[i][2]) || str16(f[i][3]), '' ORDER BY i))
    FROM generate_series(1, array_length(f, 1)) i
$$;
-- STACKS of (id, parent, frame, line).
CREATE FUNCTION stacks(s int[][]) RETURNS text LANGUAGE sql AS $$
    SELECT msg(17, le(array_length(s, 1), 2) || '0000' || string_agg(
        le(s[i][1], 4) || le(s[i][2], 4) || le(s[i][3], 4) || le(s[i][4], 4), ''
        ORDER BY i))
    FROM generate_series(1, array_length(s, 1)) i
$$;
-- THREADS of (id, name).
CREATE FUNCTION threads(id int, name text) RETURNS text LANGUAGE sql AS $$
    SELECT msg(18, '0100' || '0000' || le(id, 4) || le(1000 + id, 8) || str16(name))
$$;
-- STACK_SAMPLES of one thread: (offset ms, stack, weight ms, on cpu, rss).
CREATE FUNCTION samples(base timestamptz, thread int, s bigint[][]) RETURNS text
LANGUAGE sql AS $$
    SELECT msg(19, le((extract(epoch FROM base) * 1000000)::bigint, 8) ||
        le(thread, 4) || le(array_length(s, 1), 2) || '0000' || string_agg(
        le(s[i][1] * 1000, 4) || le(s[i][2], 4) || le(s[i][3] * 1000, 4) ||
        le(s[i][4], 1) || le(s[i][5], 8), '' ORDER BY i))
    FROM generate_series(1, array_length(s, 1)) i
$$;
-- ALLOC_TYPES (id, name); ALLOCS of one thread (offset ms, stack, type,
-- bytes, id); FREES (offset ms, id).
CREATE FUNCTION alloc_types(t text[][]) RETURNS text LANGUAGE sql AS $$
    SELECT msg(20, le(array_length(t, 1), 2) || '0000' || string_agg(
        le(t[i][1]::bigint, 4) || str16(t[i][2]), '' ORDER BY i))
    FROM generate_series(1, array_length(t, 1)) i
$$;
CREATE FUNCTION allocs(base timestamptz, thread int, a bigint[][]) RETURNS text
LANGUAGE sql AS $$
    SELECT msg(21, le((extract(epoch FROM base) * 1000000)::bigint, 8) ||
        le(thread, 4) || le(array_length(a, 1), 2) || '0000' || string_agg(
        le(a[i][1] * 1000, 4) || le(a[i][2], 4) || le(a[i][3], 4) ||
        le(a[i][4], 8) || le(a[i][5], 8), '' ORDER BY i))
    FROM generate_series(1, array_length(a, 1)) i
$$;
CREATE FUNCTION frees(base timestamptz, f bigint[][]) RETURNS text LANGUAGE sql AS $$
    SELECT msg(22, le((extract(epoch FROM base) * 1000000)::bigint, 8) ||
        le(array_length(f, 1), 2) || '0000' || string_agg(
        le(f[i][1] * 1000, 4) || le(f[i][2], 8), '' ORDER BY i))
    FROM generate_series(1, array_length(f, 1)) i
$$;

-- A run of a small program.  Frames: <module> calls main, which calls
-- work (CPU) and wait (idle); work calls itself once (recursion) and
-- allocates in make_bytes.  Stacks 1..6 form the tree; the samples of
-- thread 1 (MainThread) and 2 (worker) arrive BEFORE the definitions.
SELECT mnemic.ingest_datagram(v1('00000000-0000-4000-8000-00000000f301', 0, ARRAY[
  samples('2026-03-01 10:00:00+00', 1, ARRAY[
    [0, 3, 10, 1, 100000000], [10, 3, 10, 1, 100000000], [20, 4, 10, 1, 101000000],
    [30, 5, 10, 0, 101000000], [40, 6, 10, 1, 102000000]]),
  samples('2026-03-01 10:00:00+00', 2, ARRAY[
    [5, 5, 10, 0, 100000000], [15, 3, 10, 1, 100000000], [25, 0, 10, 1, 101000000]])]));
-- Before their definitions the samples are there, under an undefined stack.
SELECT function, self, total FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301',
                                                    weight => 'samples') ORDER BY node;
SELECT mnemic.ingest_datagram(v1('00000000-0000-4000-8000-00000000f301', 1, ARRAY[
  frames(ARRAY[['1', '<module>', 'app.py', '1', '0'], ['2', 'main', 'app.py', '10', '0'],
               ['3', 'work', 'app.py', '20', '0'], ['4', 'wait', 'app.py', '30', '0'],
               ['5', 'make_bytes', 'app.py', '40', '0']]),
  stacks(ARRAY[[1, 0, 1, 2], [2, 1, 2, 11], [3, 2, 3, 21], [4, 3, 3, 22],
               [5, 2, 4, 31], [6, 3, 5, 41]]),
  threads(1, 'MainThread'), threads(2, 'worker'),
  alloc_types(ARRAY[['1', 'bytes'], ['2', 'dict']])]));
-- Later samples (ten seconds on, past a rollup bucket) and allocations.
SELECT mnemic.ingest_datagram(v1('00000000-0000-4000-8000-00000000f301', 2, ARRAY[
  samples('2026-03-01 10:00:12+00', 1, ARRAY[
    [0, 3, 20, 1, 104000000], [20, 6, 20, 1, 105000000], [40, 5, 20, 0, 105000000]]),
  allocs('2026-03-01 10:00:00+00', 1, ARRAY[
    [40, 6, 1, 524288, 1], [12040, 6, 1, 1048576, 2], [12041, 3, 2, 65536, 3],
    [12042, 6, 0, 4096, 4]]),
  frees('2026-03-01 10:00:13+00', ARRAY[[0, 1]])]));

-- Reference: every sample with the frame names of its path, in plain SQL.
CREATE VIEW ref_samples AS
WITH RECURSIVE path (run_id, wire_id, stack_id, names) AS (
    SELECT rs.run_id, rs.wire_id, s.parent, ARRAY[f.function]
    FROM mnemic.prof_run_stack rs
    JOIN mnemic.prof_stack s ON s.id = rs.stack_id
    JOIN mnemic.prof_frame f ON f.id = s.frame_id
    UNION ALL
    SELECT p.run_id, p.wire_id, s.parent, f.function || p.names
    FROM path p JOIN mnemic.prof_stack s ON s.id = p.stack_id
    JOIN mnemic.prof_frame f ON f.id = s.frame_id
)
SELECT r.uuid AS run, t.name AS thread, x.ts, x.stack, x.wall / 1e6 AS wall,
       x.cpu / 1e6 AS cpu,
       coalesce((SELECT names FROM path p WHERE p.run_id = b.run_id
                 AND p.wire_id = x.stack AND p.stack_id = 0),
                ARRAY[CASE WHEN x.stack = 0 THEN '(no Python frame)'
                           ELSE '(stack not defined)' END]) AS names
FROM mnemic.prof_sample b
JOIN mnemic.run r ON r.id = b.run_id
LEFT JOIN mnemic.prof_thread t ON t.run_id = b.run_id AND t.wire_id = b.thread
CROSS JOIN LATERAL unnest(b.ts, b.stack, b.wall, b.cpu) AS x (ts, stack, wall, cpu);

-- Reference flame graph: the total under each path prefix, the self of
-- each path, by weight.
CREATE FUNCTION ref_flame(r uuid, t_from timestamptz, t_to timestamptz, w text)
RETURNS TABLE (names text[], self float8, total float8) LANGUAGE sql AS $$
    WITH s AS (
        SELECT names, CASE w WHEN 'cpu' THEN cpu WHEN 'wall' THEN wall ELSE 1 END AS v
        FROM ref_samples
        WHERE run = r AND ts BETWEEN coalesce(t_from, '-infinity')
                                 AND coalesce(t_to, 'infinity')
    ), prefixes AS (
        SELECT names[1:d] AS prefix, v, d = cardinality(names) AS leaf
        FROM s, generate_series(1, cardinality(names)) d
    )
    SELECT prefix, sum(v) FILTER (WHERE leaf), sum(v) FROM prefixes GROUP BY prefix
    UNION ALL
    SELECT ARRAY[]::text[], 0, sum(v) FROM s
$$;

-- flamegraph() with each node's path of names, for comparing.
CREATE FUNCTION flame_paths(r uuid, t_from timestamptz, t_to timestamptz, w text)
RETURNS TABLE (names text[], self float8, total float8) LANGUAGE sql AS $$
    WITH RECURSIVE g AS (
        SELECT * FROM mnemic.flamegraph(r, t_from, t_to, w)
    ), p (node, names) AS (
        SELECT node, ARRAY[]::text[] FROM g WHERE parent IS NULL
        UNION ALL
        SELECT g.node, p.names || g.function FROM g JOIN p ON g.parent = p.node
    )
    SELECT p.names, g.self, g.total FROM g JOIN p USING (node)
$$;

CREATE FUNCTION check_flame(t_from timestamptz, t_to timestamptz, w text)
RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (
        (SELECT names, round(coalesce(self, 0)::numeric, 6), round(total::numeric, 6)
         FROM ref_flame('00000000-0000-4000-8000-00000000f301', t_from, t_to, w)
         EXCEPT
         SELECT names, round(self::numeric, 6), round(total::numeric, 6)
         FROM flame_paths('00000000-0000-4000-8000-00000000f301', t_from, t_to, w))
        UNION ALL
        (SELECT names, round(self::numeric, 6), round(total::numeric, 6)
         FROM flame_paths('00000000-0000-4000-8000-00000000f301', t_from, t_to, w)
         EXCEPT
         SELECT names, round(coalesce(self, 0)::numeric, 6), round(total::numeric, 6)
         FROM ref_flame('00000000-0000-4000-8000-00000000f301', t_from, t_to, w)))
$$;

-- The whole run by CPU: node 0 is 'all', then depth first.
SELECT node, parent, depth, function, file, line, self, total
FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301') ORDER BY node;

-- Every weight and some windows agree with the reference, from raw samples...
SELECT w, check_flame(NULL, NULL, w) AS whole,
       check_flame('2026-03-01 10:00:00.010+00', '2026-03-01 10:00:12.020+00', w) AS window
FROM unnest(ARRAY['cpu', 'wall', 'samples']) w;
-- ...and once the rollups are built, from them.
SELECT mnemic.build_profile_rollups('00000000-0000-4000-8000-00000000f301') > 0 AS built;
SELECT w, check_flame(NULL, NULL, w) AS whole,
       check_flame('2026-03-01 10:00:00+00', '2026-03-01 10:00:19.999999+00', w) AS bucket,
       check_flame('2026-03-01 10:00:00.010+00', '2026-03-01 10:00:12.020+00', w) AS window
FROM unnest(ARRAY['cpu', 'wall', 'samples']) w;

-- One thread; a window with nothing in it.
SELECT function, self, total FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301',
    weight => 'wall', thread => 'worker') ORDER BY node;
SELECT count(*) FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301',
    '2027-01-01', '2027-01-02');

-- Top functions by CPU: work recurses (work -> work), and counts once in
-- its total.  Reference: self from leaves, total from distinct names per path.
SELECT * FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', n => 3);
SELECT function, round(self::numeric, 6) AS self, round(total::numeric, 6) AS total
FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', weight => 'wall', n => 100)
EXCEPT
SELECT f, round(coalesce(sum(wall) FILTER (WHERE f = names[cardinality(names)]), 0)::numeric, 6),
       round(sum(wall)::numeric, 6)
FROM ref_samples, LATERAL (SELECT DISTINCT unnest(names)) AS d (f)
WHERE run = '00000000-0000-4000-8000-00000000f301'
GROUP BY f;
-- Of one thread: the same reference over that thread's samples only, and
-- the other way round (nothing missing, nothing extra).
SELECT count(*) AS worker_functions
FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', weight => 'wall',
                          n => 100, thread => 'worker');
(SELECT function, round(self::numeric, 6) AS self, round(total::numeric, 6) AS total
 FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', weight => 'wall',
                           n => 100, thread => 'worker')
 EXCEPT
 SELECT f, round(coalesce(sum(wall) FILTER (WHERE f = names[cardinality(names)]), 0)::numeric, 6),
        round(sum(wall)::numeric, 6)
 FROM ref_samples, LATERAL (SELECT DISTINCT unnest(names)) AS d (f)
 WHERE run = '00000000-0000-4000-8000-00000000f301' AND thread = 'worker'
 GROUP BY f)
UNION ALL
(SELECT f, round(coalesce(sum(wall) FILTER (WHERE f = names[cardinality(names)]), 0)::numeric, 6),
        round(sum(wall)::numeric, 6)
 FROM ref_samples, LATERAL (SELECT DISTINCT unnest(names)) AS d (f)
 WHERE run = '00000000-0000-4000-8000-00000000f301' AND thread = 'worker'
 GROUP BY f
 EXCEPT
 SELECT function, round(self::numeric, 6), round(total::numeric, 6)
 FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', weight => 'wall',
                           n => 100, thread => 'worker'));

-- The stack nearest to a moment, with the RSS then (vmprof-viewer's memory view).
SELECT * FROM mnemic.stack_at('00000000-0000-4000-8000-00000000f301',
                              '2026-03-01 10:00:12.018+00');
SELECT thread, sampled_at, count(*) AS frames
FROM mnemic.stack_at('00000000-0000-4000-8000-00000000f301',
                     '2026-03-01 10:00:00.026+00', 'worker')
GROUP BY 1, 2;

-- The threads of a run, against the reference samples: same names, same
-- counts and times, whole and in a window; an unknown run is an error.
SELECT t.thread, t.samples, t.samples = r.n AS samples_match,
       round(t.cpu_seconds::numeric, 6) = round(r.cpu::numeric, 6)
       AND round(t.wall_seconds::numeric, 6) = round(r.wall::numeric, 6) AS times_match
FROM mnemic.threads('00000000-0000-4000-8000-00000000f301') t
LEFT JOIN (SELECT thread, count(*) AS n, sum(cpu) AS cpu, sum(wall) AS wall
           FROM ref_samples WHERE run = '00000000-0000-4000-8000-00000000f301'
           GROUP BY thread) r ON r.thread = t.thread;
SELECT t.thread, t.samples, t.samples = r.n AS samples_match
FROM mnemic.threads('00000000-0000-4000-8000-00000000f301',
                    '2026-03-01 10:00:00.015+00', '2026-03-01 10:00:00.035+00') t
LEFT JOIN (SELECT thread, count(*) AS n FROM ref_samples
           WHERE run = '00000000-0000-4000-8000-00000000f301'
             AND ts BETWEEN '2026-03-01 10:00:00.015+00' AND '2026-03-01 10:00:00.035+00'
           GROUP BY thread) r ON r.thread = t.thread;
SELECT count(*) FROM mnemic.threads('00000000-0000-4000-8000-0000000000ff');
SELECT count(*) FROM mnemic.threads(NULL);

-- Allocations by type: all, still in use at the end (allocation 1 was
-- freed), and those made under work.
SELECT * FROM mnemic.allocations_by_type('00000000-0000-4000-8000-00000000f301');
SELECT * FROM mnemic.allocations_by_type('00000000-0000-4000-8000-00000000f301',
                                         weight => 'inuse');
SELECT * FROM mnemic.allocations_by_type('00000000-0000-4000-8000-00000000f301',
                                         function => 'wait');
-- The flame graph of allocated bytes.
SELECT function, self, total FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301',
    weight => 'alloc') ORDER BY node;

-- The RSS of every sample is the run's metric rss_bytes, charted as any
-- other; runs() says how many profile samples the run has.
SELECT count(*), min(value), max(value) FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-00000000f301' AND metric = 'rss_bytes';
SELECT stack_samples, alloc_samples FROM mnemic.run_info('00000000-0000-4000-8000-00000000f301');

-- A second run of the same program diffed against the first: work grew.
SELECT mnemic.ingest_datagram(v1('00000000-0000-4000-8000-00000000f302', 0, ARRAY[
  frames(ARRAY[['1', '<module>', 'app.py', '1', '0'], ['2', 'main', 'app.py', '10', '0'],
               ['3', 'work', 'app.py', '20', '0']]),
  stacks(ARRAY[[1, 0, 1, 2], [2, 1, 2, 11], [3, 2, 3, 21]]),
  samples('2026-03-02 10:00:00+00', 1, ARRAY[[0, 3, 50, 1, 0], [50, 2, 10, 1, 0]])]));
SELECT function, self_a, total_a, self_b, total_b
FROM mnemic.flamegraph_diff('00000000-0000-4000-8000-00000000f301', NULL, NULL,
                            '00000000-0000-4000-8000-00000000f302', NULL, NULL, 'cpu')
ORDER BY node;
-- Both runs share their frames and stacks: stored once.
SELECT count(*) AS frames FROM mnemic.prof_frame;
SELECT count(*) AS stacks FROM mnemic.prof_stack;

-- Errors name what is wrong.
SELECT * FROM mnemic.flamegraph('00000000-0000-4000-8000-0000000000ee');
SELECT * FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301', weight => 'heat');
SELECT * FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301', thread => 'nobody');
SELECT * FROM mnemic.top_functions('00000000-0000-4000-8000-00000000f301', n => 0);
SELECT * FROM mnemic.allocations_by_type('00000000-0000-4000-8000-00000000f301', weight => 'cpu');
SELECT * FROM mnemic.flamegraph('00000000-0000-4000-8000-00000000f301',
                                '2026-03-02', '2026-03-01');

-- Deleting the second run deletes its profile; its stacks are still the
-- first run's, so nothing is collected; deleting the first too leaves
-- frames and stacks no run uses, which are collected.
SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000f302');
SELECT mnemic.collect_profile_garbage() AS collected;
SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000f301');
SELECT count(*) FROM mnemic.prof_sample;
SELECT mnemic.collect_profile_garbage() > 0 AS collected;
SELECT (SELECT count(*) FROM mnemic.prof_frame) AS frames,
       (SELECT count(*) FROM mnemic.prof_stack) AS stacks,
       (SELECT count(*) FROM mnemic.prof_type) AS types;
