--
-- mnemic.import_series(tracer, run, metric, ts[], value[]): append points to
-- one metric of one run through the listener's storage path.  The tracer,
-- the run and the metric are created when they do not exist yet.  Returns
-- the number of points stored.
--
SET timezone = 'UTC';

SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000101',
  'cpu', ARRAY['2024-01-01 00:00:00+00', '2024-01-01 00:00:01+00',
               '2024-01-01 00:00:02+00']::timestamptz[],
  ARRAY[0.5, 0.75, NULL]);

-- A NULL value is stored as NULL; NaN and the infinities as themselves.
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000101',
  'mem', ARRAY['2024-01-01 00:00:00+00', '2024-01-01 00:00:01+00',
               '2024-01-01 00:00:02+00']::timestamptz[],
  ARRAY['NaN', 'Infinity', '-Infinity']::float8[]);

SELECT tracer, metric, ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000101' ORDER BY metric, ts;

-- The run says where it came from and counts what it holds.
SELECT r.protocol, t.name AS tracer, r.samples, r.datagrams, r.lost
FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000101';

-- Metrics are numbered in the order they were first imported.
SELECT m.idx, m.name FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000101' ORDER BY m.idx;

-- Importing again appends; points need not come in time order.
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000101',
  'cpu', ARRAY['2024-01-01 00:00:04+00', '2024-01-01 00:00:03+00']::timestamptz[],
  ARRAY[4.0, 3.0]);
SELECT ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000101' AND metric = 'cpu'
ORDER BY ts;

-- Points are packed into mnemic.block rows of consecutive points of one
-- metric, sorted by time within a block.  A large import fills blocks of
-- 248 points (two blocks per 8 kB page; see docs/storage.md).
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000102',
  'big', array_agg(timestamptz '2024-01-01' + i * interval '1 second'),
  array_agg(i::float8))
FROM generate_series(1, 1000) i;
SELECT b.n, b.t_first, b.t_last, b.value[1] AS first_value
FROM mnemic.block b JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000102' ORDER BY b.t_first;

-- metric.max_span is the longest time a block of the metric covers: readers
-- find the blocks of [from, to] with t_first BETWEEN from - max_span AND to.
SELECT m.name, m.max_span FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000102';

-- An empty import creates the metric and stores nothing.
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000101',
  'idle', '{}'::timestamptz[], '{}'::float8[]);
SELECT count(*) FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000101' AND m.name = 'idle';

-- Errors: each is raised before anything is stored.
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000103',
  'cpu', ARRAY[now(), now()], ARRAY[1.0]);
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000103',
  'cpu', ARRAY[now(), NULL], ARRAY[1.0, 2.0]);
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000103',
  'cpu', ARRAY['infinity']::timestamptz[], ARRAY[1.0]);
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000103',
  'cpu', ARRAY[[now()]], ARRAY[[1.0]]);
SELECT mnemic.import_series(NULL, '00000000-0000-4000-8000-000000000103',
  'cpu', ARRAY[now()], ARRAY[1.0]);
SELECT mnemic.import_series('importer', NULL, 'cpu', ARRAY[now()], ARRAY[1.0]);
SELECT count(*) FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-000000000103';

-- Everything happens in the calling transaction: a rollback leaves no trace.
BEGIN;
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000104',
  'cpu', ARRAY[now()], ARRAY[1.0]);
ROLLBACK;
SELECT count(*) FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-000000000104';
-- ... and the next import after it still creates what it needs.
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000104',
  'cpu', ARRAY[now()], ARRAY[1.0]);
SELECT count(*) FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-000000000104';

-- Many imports in one transaction, and a run edited by hand between
-- imports: the counters stay exact.
SELECT sum(mnemic.import_series('importer', '00000000-0000-4000-8000-000000000105',
         'm' || (i % 3), ARRAY[timestamptz '2024-01-01' + i * interval '1 s'],
         ARRAY[i::float8]))
FROM generate_series(1, 50) i;
UPDATE mnemic.run SET host = 'edited by hand'
WHERE uuid = '00000000-0000-4000-8000-000000000105';
SELECT mnemic.import_series('importer', '00000000-0000-4000-8000-000000000105',
  'm0', ARRAY[timestamptz '2024-01-02'], ARRAY[51.0]);
SELECT r.host, r.samples, count(*) AS points, sum(s.value)
FROM mnemic.run r JOIN mnemic.samples s ON s.run = r.uuid
WHERE r.uuid = '00000000-0000-4000-8000-000000000105'
GROUP BY r.host, r.samples;
