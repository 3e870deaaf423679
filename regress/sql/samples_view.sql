--
-- mnemic.samples(tracer, run, metric, ts, value): every stored point with
-- its names, for plain SQL.  Points live packed in mnemic.block rows; the
-- view unpacks them.
--
SET timezone = 'UTC';

SELECT mnemic.import_series('view-app', '00000000-0000-4000-8000-000000000301',
  'cpu', ARRAY['2024-03-01 12:00:00+00', '2024-03-01 12:00:01+00']::timestamptz[],
  ARRAY[10.0, 20.0]);
SELECT mnemic.import_series('view-app', '00000000-0000-4000-8000-000000000301',
  'mem', ARRAY['2024-03-01 12:00:00+00']::timestamptz[], ARRAY[512.0]);

SELECT * FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000301' ORDER BY metric, ts;

-- The usual questions are plain SQL: one metric over a time range ...
SELECT ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000301' AND metric = 'cpu'
  AND ts >= '2024-03-01 12:00:01+00';
-- ... or aggregates per metric.
SELECT metric, count(*), avg(value) FROM mnemic.samples
WHERE tracer = 'view-app' GROUP BY metric ORDER BY metric;

-- Names are data, never SQL: quotes, semicolons, markup, backslashes and
-- any Unicode come back exactly as they were sent.
SELECT mnemic.import_series(E'x''); DROP TABLE mnemic.block; --',
  '00000000-0000-4000-8000-000000000302', '<script>alert("m")</script>',
  ARRAY['2024-03-01 12:00:00+00']::timestamptz[], ARRAY[1.0]);
SELECT mnemic.import_series(E'x''); DROP TABLE mnemic.block; --',
  '00000000-0000-4000-8000-000000000302', E'température °C — 温度 🔥 \\ "q"',
  ARRAY['2024-03-01 12:00:00+00']::timestamptz[], ARRAY[2.0]);
SELECT tracer, metric, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000302' ORDER BY value;
SELECT tracer = E'x''); DROP TABLE mnemic.block; --' AS tracer_exact,
       metric IN ('<script>alert("m")</script>',
                  E'température °C — 温度 🔥 \\ "q"') AS metric_exact
FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-000000000302';

-- The same over the wire: JSON escapes in a legacy header are decoded, and
-- the names stored exactly.
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "create_trace_run", "app_name": "it''s \"quoted\"; <b>bold</b>",
    "column_names": ["a\\b", "\u00e9t\u00e9", "\ud83d\udd25", "DROP TABLE x;"],
    "uuid": "00000000-0000-4000-8000-000000000303"}', 'UTF8'));
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1, 2, 3, 4],
    "uuid": "00000000-0000-4000-8000-000000000303"}', 'UTF8'));
SELECT tracer, metric, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000303' ORDER BY value;
SELECT tracer = 'it''s "quoted"; <b>bold</b>' AS tracer_exact,
       array_agg(metric ORDER BY value) = ARRAY[E'a\\b', 'été', '🔥', 'DROP TABLE x;']
         AS metrics_exact
FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-000000000303'
GROUP BY tracer;
SELECT count(*) > 0 AS block_table_still_there FROM mnemic.block;
