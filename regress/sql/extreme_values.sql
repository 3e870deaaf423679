--
-- Values at the edges of float8 are stored exactly and never make a write
-- fail.  Summary sums saturate: a bucket whose finite values add up beyond
-- the float8 range has sum +/-Infinity (NaN once it overflowed both ways),
-- so its avg is +/-Infinity or NaN; M4, LTTB, raw points and CSV stay
-- exact.  NaN and +/-Infinity are "missing" for summaries and charts.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- How summary sums merge.
SELECT mnemic.summary_sum(1, 2) AS three,
       mnemic.summary_sum(1e308, 1e308) AS overflow,
       mnemic.summary_sum(-1e308, -1e308) AS negative_overflow,
       mnemic.summary_sum('Infinity', '-Infinity') AS both_ways,
       mnemic.summary_sum('Infinity', 1) AS stays;

-- One point per transaction into the same summary buckets: the second and
-- third merge a stored large sum with another one.  (Before sums
-- saturated, the second failed with "value out of range: overflow".)
SELECT mnemic.import_series('extreme', '00000000-0000-4000-8000-00000000f101',
  'big', ARRAY['2026-01-01 00:00:00+00']::timestamptz[], ARRAY[1e308]);
SELECT mnemic.import_series('extreme', '00000000-0000-4000-8000-00000000f101',
  'big', ARRAY['2026-01-01 00:00:00.001+00']::timestamptz[], ARRAY[1e308]);
SELECT mnemic.import_series('extreme', '00000000-0000-4000-8000-00000000f101',
  'big', ARRAY['2026-01-01 00:00:00.002+00']::timestamptz[], ARRAY[1.7976931348623157e308]);

-- Every kind of edge value in one call, and in another metric the largest
-- finite values of both signs in one bucket.
SELECT mnemic.import_series('extreme', '00000000-0000-4000-8000-00000000f101',
  'edges', array_agg(timestamptz '2026-01-01 00:00:00+00' + i * interval '10 ms' ORDER BY i),
  array_agg(v ORDER BY i))
FROM unnest(ARRAY[1.7976931348623157e308, -1.7976931348623157e308,
                  5e-324, -5e-324, '-0', 'NaN', 'Infinity', '-Infinity', NULL,
                  2.2250738585072014e-308, 1e308, -1e308]::float8[])
     WITH ORDINALITY AS u (v, i);

-- Stored exactly, in order.
SELECT metric, ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-00000000f101' ORDER BY metric, ts;

-- The coarsest summary bucket of each metric: 'big' overflowed upwards;
-- 'edges' adds up to 0 in time order, and its NaN, Infinity, -Infinity and
-- NULL are missing.
SELECT m.name, s.n, s.sum, s.min_v, s.max_v, s.missing
FROM mnemic.summary s
JOIN mnemic.metric m ON m.id = s.metric_id
JOIN mnemic.summary_grid g ON g.metric_id = m.id AND s.level = g.coarsest
JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-00000000f101'
ORDER BY m.name;

-- M4 from summaries (a day in three columns) equals M4 over the raw
-- points on the same grid; series() also marks the missing values with a
-- NULL point, which the aggregate leaves out.
SELECT metric, g.level IS NOT NULL AS from_summaries,
       (SELECT array_agg((s.ts, s.value)::mnemic.point ORDER BY s.o)
        FROM mnemic.series('00000000-0000-4000-8000-00000000f101', metric,
                           '2025-12-31 12:00+00', '2026-01-01 12:00+00', 3, 'm4')
             WITH ORDINALITY AS s (ts, value, o)
        WHERE s.value IS NOT NULL)
       = (SELECT mnemic.m4(p.ts, p.value, g.grid_start,
                           g.grid_start + g.columns * g.column_width - interval '1 microsecond',
                           g.columns)
          FROM mnemic.samples p
          WHERE p.run = '00000000-0000-4000-8000-00000000f101' AND p.metric = m.metric)
       AS same_as_raw
FROM (VALUES ('big'), ('edges')) AS m (metric),
     LATERAL mnemic.series_grid('00000000-0000-4000-8000-00000000f101', metric,
                                '2025-12-31 12:00+00', '2026-01-01 12:00+00', 3) g
ORDER BY metric;

-- avg shows the saturated sums; LTTB and raw answer every point.
SELECT metric, method, count(*) AS rows, count(value) AS values,
       max(value) FILTER (WHERE method = 'avg') AS avg
FROM (VALUES ('big'), ('edges')) AS m (metric),
     (VALUES ('avg'), ('lttb'), ('raw')) AS x (method),
     LATERAL mnemic.series('00000000-0000-4000-8000-00000000f101', metric,
                           '2025-12-31 12:00+00', '2026-01-01 12:00+00', 1, method)
GROUP BY metric, method ORDER BY metric, method;

-- CSV carries them exactly too.
SELECT line FROM mnemic.export_csv('00000000-0000-4000-8000-00000000f101') line
WHERE line LIKE '%e+308%' OR line LIKE '%e-3%' OR line LIKE 'ts%'
ORDER BY line;
