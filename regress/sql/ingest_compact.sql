--
-- mnemic.compact_blocks(older_than, run): a metric sampled more slowly than the
-- listener flushes gets one small block per flush; compacting merges a
-- metric's blocks of fewer than 124 points, once their last point is older
-- than older_than, into blocks of up to 248 points.  What readers see does
-- not change.
--
SET timezone = 'UTC';

-- Twenty flushes of one point each, as a 1 Hz metric with a short flush
-- interval produces, and a NULL among them.
SELECT sum(mnemic.import_series('slow-app', '00000000-0000-4000-8000-000000000501',
         'temp', ARRAY[timestamptz '2024-01-01' + i * interval '1 s'],
         ARRAY[CASE WHEN i = 7 THEN NULL ELSE i * 1.5 END]))
FROM generate_series(1, 20) i;
-- A full metric next to it is left alone.
SELECT mnemic.import_series('slow-app', '00000000-0000-4000-8000-000000000501',
  'fast', array_agg(timestamptz '2024-01-01' + i * interval '1 ms'),
  array_agg(i::float8))
FROM generate_series(1, 248) i;

CREATE TEMP TABLE before AS
SELECT metric, ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000501';

SELECT m.name, count(*) AS blocks, sum(b.n) AS points, m.max_span
FROM mnemic.block b JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000501'
GROUP BY m.name, m.max_span ORDER BY m.name;

-- Blocks younger than older_than stay as they are ...
SELECT mnemic.compact_blocks(now() - timestamptz '2023-12-31',
                             '00000000-0000-4000-8000-000000000501');
-- ... older ones are merged (here only this run's, for a count that does
-- not depend on other tests; without a run, all runs are compacted).
SELECT mnemic.compact_blocks('0', '00000000-0000-4000-8000-000000000501');

SELECT m.name, count(*) AS blocks, sum(b.n) AS points, m.max_span
FROM mnemic.block b JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000501'
GROUP BY m.name, m.max_span ORDER BY m.name;

-- The same points, in time order within the merged block.
SELECT (SELECT count(*) FROM (
          SELECT * FROM before EXCEPT ALL
          SELECT metric, ts, value FROM mnemic.samples
          WHERE run = '00000000-0000-4000-8000-000000000501') d) AS missing,
       (SELECT count(*) FROM mnemic.samples
        WHERE run = '00000000-0000-4000-8000-000000000501') AS points;
SELECT b.ts[1:3], b.value[6:8], b.t_first, b.t_last
FROM mnemic.block b JOIN mnemic.metric m ON m.id = b.metric_id
JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-000000000501' AND m.name = 'temp';

-- Nothing left to merge.
SELECT mnemic.compact_blocks('0', '00000000-0000-4000-8000-000000000501');
