-- Deleting runs: mnemic.delete_run(run) and mnemic.drop_runs_older_than(age)
-- remove the run with its metrics, blocks and summaries.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Runs of points from the last minute (an imported run is as old as its
-- points say).
SELECT mnemic.import_series('regress-housekeeping', ('00000000-0000-4000-8000-00000000d00' || i)::uuid,
    m, ARRAY[now() - interval '1 minute', now()], ARRAY[1, 2]::float8[])
FROM generate_series(1, 4) i, (VALUES ('x'), ('y')) v (m);

-- What is stored for the runs of this test: runs, metrics, blocks,
-- summary rows (by the metric ids they had).
CREATE TEMP TABLE housekeeping_metrics AS
SELECT m.id FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
JOIN mnemic.tracer t ON t.id = r.tracer_id WHERE t.name = 'regress-housekeeping';
CREATE TEMP VIEW housekeeping_rows AS
SELECT (SELECT count(*) FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id
        WHERE t.name = 'regress-housekeeping') AS runs,
       (SELECT count(*) FROM mnemic.metric WHERE id IN (SELECT id FROM housekeeping_metrics)) AS metrics,
       (SELECT count(*) FROM mnemic.block WHERE metric_id IN (SELECT id FROM housekeeping_metrics)) AS blocks,
       (SELECT count(*) FROM mnemic.summary WHERE metric_id IN (SELECT id FROM housekeeping_metrics)) > 0 AS summaries,
       (SELECT count(*) FROM mnemic.summary_grid WHERE metric_id IN (SELECT id FROM housekeeping_metrics)) AS grids;

SELECT * FROM housekeeping_rows;

SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000d001');
SELECT * FROM housekeeping_rows;
-- again, or never there: false
SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000d001');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000d001', 'x');

-- Runs last seen more than a day ago go; the others stay.
UPDATE mnemic.run SET last_seen = now() - interval '3 days'
WHERE uuid IN ('00000000-0000-4000-8000-00000000d002', '00000000-0000-4000-8000-00000000d003');
SELECT mnemic.drop_runs_older_than('1 day');
SELECT * FROM housekeeping_rows;
SELECT run FROM mnemic.runs('regress-housekeeping');
SELECT mnemic.drop_runs_older_than('1 day');
SELECT mnemic.drop_runs_older_than('-1 day');

-- Imported history is as old as its points: retention drops it.
SELECT mnemic.import_series('regress-housekeeping', '00000000-0000-4000-8000-00000000d005',
    'x', ARRAY['2026-05-01 00:00:00+00', '2026-05-01 00:00:01+00']::timestamptz[],
    ARRAY[1, 2]::float8[]);
SELECT started, first_seen, last_seen FROM mnemic.run
WHERE uuid = '00000000-0000-4000-8000-00000000d005';
SELECT mnemic.drop_runs_older_than('1 day');
SELECT count(*) FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-00000000d005';

SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000d004');
SELECT * FROM housekeeping_rows;
DROP VIEW housekeeping_rows;
DROP TABLE housekeeping_metrics;
