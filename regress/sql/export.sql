-- mnemic.export_csv(run): the whole run as CSV lines, one row each: a
-- header "ts,<metric>,...", then one line per instant in time order
-- (ISO 8601, UTC), an empty field where a metric has no value then.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

SELECT mnemic.import_series('regress-export', '00000000-0000-4000-8000-00000000c001', 'cpu',
    ARRAY['2026-04-01 10:00:00+00', '2026-04-01 10:00:01+00', '2026-04-01 10:00:02+00',
          '2026-04-01 10:00:03.25+00']::timestamptz[],
    ARRAY[0.5, NULL, 'NaN', 12]::float8[]);
SELECT mnemic.import_series('regress-export', '00000000-0000-4000-8000-00000000c001', 'mem "rss", MB',
    ARRAY['2026-04-01 10:00:01+00', '2026-04-01 10:00:02.5+00', '2026-04-01 10:00:00+00']::timestamptz[],
    ARRAY[100, '-Infinity', 1e300]::float8[]);
-- two values of one metric at one instant: two lines with that time
SELECT mnemic.import_series('regress-export', '00000000-0000-4000-8000-00000000c001', 'cpu',
    ARRAY['2026-04-01 10:00:03.25+00']::timestamptz[], ARRAY[13]::float8[]);

SELECT * FROM mnemic.export_csv('00000000-0000-4000-8000-00000000c001');

-- COPY-friendly: straight into a file or to the client.
COPY (SELECT * FROM mnemic.export_csv('00000000-0000-4000-8000-00000000c001') LIMIT 2)
TO STDOUT;

-- A run without points: only the header.  Unknown run: an error.
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "create_trace_run", "app_name": "regress-export",'
  ' "column_names": ["a", "<b>"], "uuid": "00000000-0000-4000-8000-00000000c002"}', 'UTF8'));
SELECT * FROM mnemic.export_csv('00000000-0000-4000-8000-00000000c002');
SELECT * FROM mnemic.export_csv('00000000-0000-4000-8000-0000000000ff');

SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000c001'),
       mnemic.delete_run('00000000-0000-4000-8000-00000000c002');
