--
-- mnemic.import_profile(tracer, format, data) and
-- mnemic.export_profile(run, t_from, t_to, format, weight): profile files
-- in and out.  An import is a new run of the tracer; an export is a window
-- of a run, its values integers of the weight's unit.
--
-- The files of regress/data/ describe one small program, written by hand
-- in each format: four functions, seven samples of 10 ms on CPU,
--
--   main (app.py:3) > handle (app.py:12) > query (db.py:7)     3 samples
--   main (app.py:3) > handle (app.py:14) > render (app.py:21)  2 samples
--   main (app.py:3) > handle (app.py:15)                       1 sample
--   main (app.py:4)                                            1 sample
--
-- so its flame graph, by hand, in seconds on CPU:
--
--   function  total  self
--   main      0.07   0.01
--   handle    0.06   0.01
--   query     0.03   0.03
--   render    0.02   0.02
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
-- The files are read by psql, on the client's side.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data'
\set shop_collapsed `cat :'data'/collapsed/shop.collapsed`
\set shop_prof_hex `cat :'data'/vmprof/shop.prof.hex`
\set shop_pb_hex `cat :'data'/pprof/shop.pb.hex`
\set shop_sampled `cat :'data'/speedscope/shop-sampled.json`
\set shop_evented `cat :'data'/speedscope/shop-evented.json`
\set allocations `cat :'data'/speedscope/allocations.json`

-- The binary files are kept as annotated hex ('#' starts a comment).
CREATE FUNCTION pg_temp.from_hex(text) RETURNS bytea
LANGUAGE sql AS $$
  SELECT decode(regexp_replace($1, '#[^\n]*|\s', '', 'g'), 'hex')
$$;

-- The flame graph computed by hand above, to compare each import with.
CREATE TEMP TABLE shop_expected (function text, self numeric, total numeric);
INSERT INTO shop_expected VALUES
  ('main', 0.01, 0.07), ('handle', 0.01, 0.06),
  ('query', 0.03, 0.03), ('render', 0.02, 0.02);

-- What an import's flame graph gets wrong: no rows when it is right.
CREATE FUNCTION pg_temp.shop_mismatches(run uuid)
RETURNS TABLE (function text, self numeric, total numeric, side text)
LANGUAGE sql AS $$
  (SELECT function, round(self::numeric, 6), round(total::numeric, 6), 'imported'
   FROM mnemic.flamegraph(run) WHERE depth > 0
   EXCEPT SELECT *, 'imported' FROM shop_expected)
  UNION ALL
  (SELECT *, 'expected' FROM shop_expected
   EXCEPT SELECT function, round(self::numeric, 6), round(total::numeric, 6), 'expected'
   FROM mnemic.flamegraph(run) WHERE depth > 0)
$$;

CREATE TEMP TABLE runs_before AS SELECT count(*) AS n FROM mnemic.run;

--
-- Collapsed stacks: one line per stack, frames outermost first separated by
-- ';', a space and a count.  "function (file:line)" gives the file and the
-- line executed.  No time in the file: each count is that many samples of
-- 10 ms on CPU, one after another from the import's start.
--
SELECT mnemic.import_profile('shop', 'collapsed',
                             convert_to(:'shop_collapsed', 'UTF8'))
  AS collapsed_run \gset
SELECT node, parent, depth, function, file, line,
       round(self::numeric, 3) AS self, round(total::numeric, 3) AS total
FROM mnemic.flamegraph(:'collapsed_run');
SELECT * FROM pg_temp.shop_mismatches(:'collapsed_run');
-- its thread's samples are the samples the lines count, not their lines
SELECT t.thread, t.samples,
       t.samples = (SELECT total FROM mnemic.flamegraph(:'collapsed_run',
                                                         weight => 'samples')
                    WHERE depth = 0) AS samples_match
FROM mnemic.threads(:'collapsed_run') t;

--
-- vmprof: the .prof file vmprof writes (regress/data/vmprof/shop.prof.hex
-- says what each byte is).  The file has a start time and a period but no
-- time per sample: the n-th sample is at start + n periods.  Its line mode
-- gives the line executed in each frame, its memory mode the resident
-- memory at each sample; threads are numbered as they first appear.
--
SELECT mnemic.import_profile('shop', 'vmprof',
                             pg_temp.from_hex(:'shop_prof_hex'))
  AS vmprof_run \gset
SELECT * FROM pg_temp.shop_mismatches(:'vmprof_run');
SELECT function, file, line, round(self::numeric, 3) AS self,
       round(total::numeric, 3) AS total
FROM mnemic.top_functions(:'vmprof_run', n => 4);
SELECT started, ended FROM mnemic.run_info(:'vmprof_run');
-- The fourth sample, at 09:00:00.03, on the first thread with 10300 KiB.
SELECT thread, sampled_at, rss_bytes, rss_bytes / 1024 AS rss_kib, depth,
       function, line
FROM mnemic.stack_at(:'vmprof_run', '2026-03-02 09:00:00.031+00');
SELECT function, self FROM mnemic.flamegraph(:'vmprof_run', thread => 'thread 2')
WHERE depth > 0;
-- A window: the samples from 09:00:00.02 to 09:00:00.04 (the third to the
-- fifth: one of query, two of render).
SELECT function, round(self::numeric, 3) AS self, round(total::numeric, 3) AS total
FROM mnemic.flamegraph(:'vmprof_run', '2026-03-02 09:00:00.02+00',
                       '2026-03-02 09:00:00.04+00')
WHERE depth > 0;
-- The same file gzipped (vmprof writes either) is the same profile: an
-- export to pprof is gzipped, and imports back.
SELECT * FROM pg_temp.shop_mismatches(
  mnemic.import_profile('shop', 'pprof',
                        mnemic.export_profile(:'vmprof_run', format => 'pprof')));

--
-- pprof: a Profile message of profile.proto, gzipped or not
-- (regress/data/pprof/shop.pb.hex).  Of the sample types, a time is read
-- first (here cpu in nanoseconds), with the count of samples beside it; a
-- string label "thread" names the thread.  Samples follow each other from
-- time_nanos.
--
SELECT mnemic.import_profile('shop', 'pprof',
                             pg_temp.from_hex(:'shop_pb_hex'))
  AS pprof_run \gset
SELECT * FROM pg_temp.shop_mismatches(:'pprof_run');
SELECT started, ended FROM mnemic.run_info(:'pprof_run');
SELECT function, self FROM mnemic.flamegraph(:'pprof_run', weight => 'samples',
                                             thread => 'worker')
WHERE depth > 0;

--
-- speedscope: its JSON file format, sampled and evented profiles; each
-- profile is a thread.  A time unit gives samples on CPU, "bytes" gives
-- sampled allocations.
--
SELECT mnemic.import_profile('shop', 'speedscope',
                             convert_to(:'shop_sampled', 'UTF8'))
  AS sampled_run \gset
SELECT * FROM pg_temp.shop_mismatches(:'sampled_run');
SELECT mnemic.import_profile('shop', 'speedscope',
                             convert_to(:'shop_evented', 'UTF8'))
  AS evented_run \gset
SELECT * FROM pg_temp.shop_mismatches(:'evented_run');
SELECT function, self FROM mnemic.flamegraph(:'evented_run', thread => 'worker')
WHERE depth > 0;

-- Allocations: main > load 4 MiB, main > load > parse twice 1 MiB,
-- main 1 MiB; the format has no type names.
SELECT mnemic.import_profile('cache', 'speedscope',
                             convert_to(:'allocations', 'UTF8'))
  AS alloc_run \gset
SELECT * FROM mnemic.allocations_by_type(:'alloc_run');
SELECT * FROM mnemic.allocations_by_type(:'alloc_run', function => 'parse');
SELECT function, self, total FROM mnemic.flamegraph(:'alloc_run', weight => 'alloc')
WHERE depth > 0;

-- Seven imports so far, each a new run of its tracer.
SELECT (SELECT count(*) FROM mnemic.run) - n AS new_runs FROM runs_before;

--
-- Exports.  Collapsed stacks: one line per path, the line executed in
-- each frame, the value an integer of the weight's unit (microseconds of
-- CPU here), lines sorted.
--
SELECT convert_from(mnemic.export_profile(:'vmprof_run', format => 'collapsed'), 'UTF8');
SELECT convert_from(mnemic.export_profile(:'vmprof_run', format => 'collapsed',
                                          weight => 'samples'), 'UTF8');
-- A window of a run: the samples of 09:00:00.05 and later (the second thread).
SELECT convert_from(mnemic.export_profile(:'vmprof_run', '2026-03-02 09:00:00.05+00',
                                          NULL, 'collapsed'), 'UTF8');

-- speedscope (the default format): shared frames with their first line,
-- one sampled profile named after the tracer, the paths in order.
SELECT jsonb_pretty(convert_from(mnemic.export_profile(:'vmprof_run'), 'UTF8')::jsonb
                    - 'name');
SELECT convert_from(mnemic.export_profile(:'alloc_run', weight => 'alloc'),
                    'UTF8')::jsonb -> 'profiles' -> 0 -> 'unit' AS alloc_unit;

-- pprof: gzipped, as pprof files are.
SELECT substring(mnemic.export_profile(:'vmprof_run', format => 'pprof') FOR 2)
  AS gzip_magic;

--
-- An export imports back to the same flame graph.  Collapsed stacks count
-- samples when imported, so they round-trip when exported as samples
-- (here each stood for 10 ms, so the CPU time is the same too); speedscope
-- and pprof carry their unit.  (A speedscope export in time has one
-- weight per path, which imports as one sample of that length.)
--
CREATE FUNCTION pg_temp.same_flamegraph(a uuid, b uuid, weight text)
RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (
    (SELECT depth, function, file, round(self::numeric, 6), round(total::numeric, 6)
     FROM mnemic.flamegraph(a, weight => weight)
     EXCEPT SELECT depth, function, file, round(self::numeric, 6), round(total::numeric, 6)
     FROM mnemic.flamegraph(b, weight => weight))
    UNION ALL
    (SELECT depth, function, file, round(self::numeric, 6), round(total::numeric, 6)
     FROM mnemic.flamegraph(b, weight => weight)
     EXCEPT SELECT depth, function, file, round(self::numeric, 6), round(total::numeric, 6)
     FROM mnemic.flamegraph(a, weight => weight))) differences
$$;
SELECT format, export_weight, compared_weight,
       pg_temp.same_flamegraph(:'vmprof_run',
         mnemic.import_profile('roundtrip', format,
           mnemic.export_profile(:'vmprof_run', format => format,
                                 weight => export_weight)),
         compared_weight) AS differences
FROM (VALUES ('collapsed', 'samples', 'samples'), ('collapsed', 'samples', 'cpu'),
             ('speedscope', 'cpu', 'cpu'), ('speedscope', 'samples', 'samples'),
             ('pprof', 'cpu', 'cpu'), ('pprof', 'samples', 'samples'))
  AS t(format, export_weight, compared_weight);
-- Collapsed keeps the line executed in each frame: a second round trip
-- writes the same file.
SELECT mnemic.import_profile('roundtrip', 'collapsed',
         mnemic.export_profile(:'vmprof_run', format => 'collapsed',
                               weight => 'samples')) AS back \gset
SELECT mnemic.export_profile(:'back', format => 'collapsed', weight => 'samples') =
       mnemic.export_profile(:'vmprof_run', format => 'collapsed', weight => 'samples')
  AS same_file;

--
-- Malformed files are errors that name the line or the byte, and store
-- nothing: the count of runs does not move.
--
CREATE TEMP TABLE runs_now AS SELECT count(*) AS n FROM mnemic.run;
SELECT mnemic.import_profile('bad', 'collapsed',
                             convert_to(E'a;b 1\na;b;c x3\n', 'UTF8'));
SELECT mnemic.import_profile('bad', 'collapsed', convert_to(E'a;;b 1\n', 'UTF8'));
SELECT mnemic.import_profile('bad', 'collapsed', '\x613b6220ff310a'::bytea);
-- the vmprof file cut inside its fourth stack record
SELECT mnemic.import_profile('bad', 'vmprof',
         substring(pg_temp.from_hex(:'shop_prof_hex') FOR 350));
SELECT mnemic.import_profile('bad', 'vmprof', convert_to('not a profile', 'UTF8'));
-- the pprof file cut inside its third sample
SELECT mnemic.import_profile('bad', 'pprof',
         substring(pg_temp.from_hex(:'shop_pb_hex') FOR 80));
-- a pprof sample naming a location that is not there: sample_type
-- {1, 2}, sample {location_id 9, value 1}, strings "", samples, count
SELECT mnemic.import_profile('bad', 'pprof',
         '\x0a0408011002120408091001320032077361'
         '6d706c65733205636f756e74'::bytea);
SELECT mnemic.import_profile('bad', 'speedscope', convert_to(
  E'{"shared": {"frames": [{"name": "a"}, {"name": "b"}]},\n'
  ' "profiles": [{"type": "evented", "unit": "seconds", "events": [\n'
  '   {"type": "O", "frame": 0, "at": 0},\n'
  '   {"type": "C", "frame": 1, "at": 1}]}]}', 'UTF8'));
SELECT mnemic.import_profile('bad', 'speedscope', convert_to(
  E'{"shared": {"frames": [{"name": "a"}]},\n'
  ' "profiles": [{"type": "sampled", "unit": "none",\n'
  '   "samples": [[0], [3]], "weights": [1, 1]}]}', 'UTF8'));
SELECT mnemic.import_profile('bad', 'speedscope', convert_to(E'{"shared":\n {]', 'UTF8'));
-- a gzip stream that is not one
SELECT mnemic.import_profile('bad', 'vmprof', '\x1f8b0800ffff'::bytea);
SELECT mnemic.import_profile('bad', 'speedscope',
  convert_to('{"shared": {"frames": []}, "profiles": []}', 'UTF8'));
SELECT mnemic.import_profile('bad', 'wav', '\x00'::bytea);
SELECT mnemic.export_profile(:'vmprof_run', format => 'vmprof');
SELECT (SELECT count(*) FROM mnemic.run) - n AS new_runs FROM runs_now;

-- Leave the database as found: the runs imported here deleted, and the
-- frames and stacks no run uses any more collected.
SELECT count(*) AS deleted
FROM mnemic.runs() r, LATERAL mnemic.delete_run(r.run) d
WHERE r.tracer IN ('shop', 'cache', 'roundtrip');
SELECT mnemic.collect_profile_garbage() > 0 AS collected;
