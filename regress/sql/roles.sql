-- Roles: mnemic_reader reads (mnemic-web connects as one), mnemic_owner
-- may also delete runs and merge small blocks.  Both exist once the
-- extension is created.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

SELECT rolname, rolcanlogin FROM pg_roles
WHERE rolname IN ('mnemic_reader', 'mnemic_owner') ORDER BY rolname;
SELECT pg_has_role('mnemic_owner', 'mnemic_reader', 'MEMBER') AS owner_reads;

CREATE ROLE regress_mnemic_web LOGIN IN ROLE mnemic_reader;
CREATE ROLE regress_mnemic_admin LOGIN IN ROLE mnemic_owner;
CREATE ROLE regress_mnemic_nobody LOGIN;

SELECT mnemic.import_series('regress-roles', '00000000-0000-4000-8000-00000000e001', 'cpu',
    ARRAY['2026-06-01 00:00:00+00', '2026-06-01 00:00:01+00']::timestamptz[], ARRAY[1, 2]::float8[]);

-- A reader reads through every read function and the views...
SET ROLE regress_mnemic_web;
SELECT tracer, runs FROM mnemic.tracers() WHERE tracer = 'regress-roles';
SELECT run, samples FROM mnemic.runs('regress-roles');
SELECT run, samples FROM mnemic.run_info('00000000-0000-4000-8000-00000000e001');
SELECT metric, points FROM mnemic.metrics('00000000-0000-4000-8000-00000000e001');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000e001', 'cpu');
SELECT count(*) FROM mnemic.export_csv('00000000-0000-4000-8000-00000000e001');
SELECT count(*) FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-00000000e001';
SELECT mnemic.lttb(ts, v, 2) FROM (VALUES ('2026-06-01 00:00:00+00'::timestamptz, 1.0::float8),
    ('2026-06-01 00:00:01+00', 2), ('2026-06-01 00:00:02+00', 3)) t (ts, v);
-- ...but cannot delete, write, merge or rebuild.
SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000e001');
SELECT mnemic.drop_runs_older_than('1 day');
SELECT mnemic.compact_blocks('0 seconds');
DELETE FROM mnemic.run;
SELECT mnemic.import_series('regress-roles', '00000000-0000-4000-8000-00000000e002', 'cpu',
    ARRAY[now()], ARRAY[1]::float8[]);
SELECT mnemic.summary_rebuild(1);
RESET ROLE;

-- Anyone else sees nothing.
SET ROLE regress_mnemic_nobody;
SELECT * FROM mnemic.runs();
RESET ROLE;

-- The owner role merges small blocks and deletes.  A second import made
-- the run's metric two small blocks; merged, the points are the same.
SELECT mnemic.import_series('regress-roles', '00000000-0000-4000-8000-00000000e001', 'cpu',
    ARRAY['2026-06-01 00:00:02+00']::timestamptz[], ARRAY[3]::float8[]);
SET ROLE regress_mnemic_admin;
SELECT mnemic.compact_blocks('0 seconds', '00000000-0000-4000-8000-00000000e001');
SELECT count(*) AS blocks, sum(b.n) AS points FROM mnemic.block b
JOIN mnemic.metric m ON m.id = b.metric_id JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-00000000e001';
SELECT mnemic.delete_run('00000000-0000-4000-8000-00000000e001');
SELECT count(*) FROM mnemic.runs('regress-roles');
RESET ROLE;

-- Roles belong to the cluster: the extension in a second database reuses
-- them instead of failing.
CREATE DATABASE regress_mnemic_second;
\c regress_mnemic_second
CREATE EXTENSION pg_mnemic;
SELECT has_function_privilege('mnemic_reader', 'mnemic.series(uuid, text, timestamptz, timestamptz, int, text)', 'EXECUTE') AS reader_may_chart;
\c contrib_regression
-- Not dropped here: the test cluster is thrown away afterwards.

DROP ROLE regress_mnemic_web, regress_mnemic_admin, regress_mnemic_nobody;
