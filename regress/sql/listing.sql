-- Listing what there is to read: mnemic.tracers(), mnemic.runs(),
-- mnemic.run_info() and mnemic.metrics().  Times that depend on when the
-- test runs are not printed.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;

-- Two tracers; one with two runs.  import_series creates what it needs.
SELECT mnemic.import_series('regress-listing-a', '00000000-0000-4000-8000-00000000b001', 'cpu',
    array_agg(timestamptz '2026-02-01 00:00:00+00' + i * interval '1 s' ORDER BY i),
    array_agg(CASE WHEN i = 3 THEN 'NaN' WHEN i = 4 THEN NULL ELSE i * 1.5 END ORDER BY i))
FROM generate_series(0, 9) i;
SELECT mnemic.import_series('regress-listing-a', '00000000-0000-4000-8000-00000000b001', 'mem',
    ARRAY['2026-02-01 00:00:00+00', '2026-02-01 00:00:05+00']::timestamptz[], ARRAY[-7, 'Infinity']::float8[]);
SELECT mnemic.import_series('regress-listing-a', '00000000-0000-4000-8000-00000000b002', 'cpu',
    ARRAY['2026-02-02 00:00:00+00']::timestamptz[], ARRAY[42]);
SELECT mnemic.import_series('regress-listing-b', '00000000-0000-4000-8000-00000000b003', 'x',
    ARRAY['2026-02-03 00:00:00+00']::timestamptz[], ARRAY[1]);

-- Fix the clock-dependent columns so that states and order are known:
-- b001 started first and ended, b002 is silent, b003 is active.
UPDATE mnemic.run SET started = '2026-02-01 00:00:00+00', ended = '2026-02-01 00:00:10+00',
       last_seen = '2026-02-01 00:00:10+00', host = 'host-1', pid = 4242,
       program = 'train.py', python_version = '3.11.2', period = '1 s'
WHERE uuid = '00000000-0000-4000-8000-00000000b001';
UPDATE mnemic.run SET started = '2026-02-02 00:00:00+00', last_seen = '2026-02-02 00:00:10+00',
       period = '1 s'
WHERE uuid = '00000000-0000-4000-8000-00000000b002';
UPDATE mnemic.run SET started = now() - interval '1 minute', last_seen = now()
WHERE uuid = '00000000-0000-4000-8000-00000000b003';

SELECT tracer, runs, active_runs, last_seen IS NOT NULL AS seen
FROM mnemic.tracers() WHERE tracer LIKE 'regress-listing-%' ORDER BY tracer;

-- Newest first; of one tracer when named.
SELECT run, tracer, samples, lost, state FROM mnemic.runs()
WHERE tracer LIKE 'regress-listing-%';
SELECT run, tracer, ended, duration, samples, state, host, pid, program
FROM mnemic.runs('regress-listing-a');
SELECT * FROM mnemic.runs('regress-listing-nobody');

-- A run is active while it was last seen within 3 periods (at least 10 s).
UPDATE mnemic.run SET last_seen = now() - interval '20 min', period = '10 min'
WHERE uuid = '00000000-0000-4000-8000-00000000b002';
SELECT state FROM mnemic.runs('regress-listing-a') WHERE run = '00000000-0000-4000-8000-00000000b002';
UPDATE mnemic.run SET period = '5 min' WHERE uuid = '00000000-0000-4000-8000-00000000b002';
SELECT state FROM mnemic.runs('regress-listing-a') WHERE run = '00000000-0000-4000-8000-00000000b002';

SELECT run, tracer, protocol, started, ended, duration, state, host, pid, program,
       python_version, period, lost, samples, metrics
FROM mnemic.run_info('00000000-0000-4000-8000-00000000b001');
SELECT * FROM mnemic.run_info('00000000-0000-4000-8000-0000000000ff');

-- Points count everything stored; min, max and last only finite values.
SELECT * FROM mnemic.metrics('00000000-0000-4000-8000-00000000b001');
SELECT * FROM mnemic.metrics('00000000-0000-4000-8000-0000000000ff');

-- Blocks written without summaries are still described (from the blocks).
DELETE FROM mnemic.summary WHERE metric_id IN (SELECT m.id FROM mnemic.metric m
    JOIN mnemic.run r ON r.id = m.run_id WHERE r.uuid = '00000000-0000-4000-8000-00000000b001');
DELETE FROM mnemic.summary_grid WHERE metric_id IN (SELECT m.id FROM mnemic.metric m
    JOIN mnemic.run r ON r.id = m.run_id WHERE r.uuid = '00000000-0000-4000-8000-00000000b001');
SELECT * FROM mnemic.metrics('00000000-0000-4000-8000-00000000b001');
-- and series() reads their raw blocks
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000b001', 'cpu');

-- Hostile names come back exactly as they went in.
SELECT mnemic.import_series(n.tracer, '00000000-0000-4000-8000-00000000b004', n.metric,
                            ARRAY['2026-02-04 00:00:00+00']::timestamptz[], ARRAY[n.v])
FROM (VALUES ('regress-listing-''; DROP TABLE mnemic.run; --', 'a"b,c', 1.0),
             ('regress-listing-''; DROP TABLE mnemic.run; --', '<script>alert(1)</script>', 2),
             ('regress-listing-''; DROP TABLE mnemic.run; --', 'with  spaces ', 3),
             ('regress-listing-''; DROP TABLE mnemic.run; --', 'naïve Ünïcode 日本語', 4))
     AS n (tracer, metric, v);
SELECT tracer, runs FROM mnemic.tracers() WHERE tracer LIKE 'regress-listing-''%';
SELECT run, tracer FROM mnemic.runs('regress-listing-''; DROP TABLE mnemic.run; --');
SELECT metric, length(metric), points, last_value
FROM mnemic.metrics('00000000-0000-4000-8000-00000000b004');
SELECT m.metric, s.value
FROM mnemic.metrics('00000000-0000-4000-8000-00000000b004') m,
     LATERAL mnemic.series('00000000-0000-4000-8000-00000000b004', m.metric) s
ORDER BY s.value;

SELECT mnemic.delete_run(r) FROM (VALUES ('00000000-0000-4000-8000-00000000b001'::uuid),
    ('00000000-0000-4000-8000-00000000b002'), ('00000000-0000-4000-8000-00000000b003'),
    ('00000000-0000-4000-8000-00000000b004')) v (r);
