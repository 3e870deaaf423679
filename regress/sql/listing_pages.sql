-- Listing many runs: mnemic.runs() pages (keyset on started, run), its
-- filters and its changed_since form, and mnemic.tracers() with the same
-- filters.  The specification is the plain SQL of ref_runs below, over the
-- tables: what the C functions return must be exactly what it says.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- 240 runs of three tracers, made directly in the table: 3 runs start in
-- every hour (ties broken by run), every 7th has no started (first_seen
-- counts), hosts and programs vary and some are missing; every 10th is
-- active, every 10th + 1 ended, the rest silent since 2024.
INSERT INTO mnemic.tracer (name) VALUES ('fleet-a'), ('fleet-b'), ('fleet-c');
INSERT INTO mnemic.run (uuid, tracer_id, protocol, first_seen, last_seen,
                        started, ended, host, pid, program, period)
SELECT ('00000000-0000-4000-8000-fee7' || lpad(to_hex(i), 8, '0'))::uuid,
       (SELECT id FROM mnemic.tracer
        WHERE name = CASE WHEN i <= 200 THEN 'fleet-a'
                          WHEN i <= 230 THEN 'fleet-b' ELSE 'fleet-c' END),
       'import',
       timestamptz '2024-03-01' + (i / 3) * interval '1 hour' + interval '1 s',
       CASE WHEN i % 10 = 0 THEN now()
            ELSE timestamptz '2024-03-01' + (i / 3) * interval '1 hour' + interval '20 min' END,
       CASE WHEN i % 7 <> 0 THEN timestamptz '2024-03-01' + (i / 3) * interval '1 hour' END,
       CASE WHEN i % 10 = 1
            THEN timestamptz '2024-03-01' + (i / 3) * interval '1 hour' + interval '20 min' END,
       CASE WHEN i % 9 <> 0 THEN 'Host-' || (i % 5) || '.example' END,
       1000 + i,
       CASE WHEN i % 2 = 0 THEN 'serve.py' ELSE '/opt/batch.py' END,
       CASE WHEN i % 4 = 0 THEN interval '1 s' END
FROM generate_series(1, 240) i;

-- The reference: the columns the filters look at, state by the original
-- definition (last seen within greatest(3 periods, 10 s) of now()).
-- (Only this test's runs: others' are left by the tests before.)
CREATE TEMP VIEW ref_runs AS
SELECT r.uuid AS run, t.name AS tracer, coalesce(r.started, r.first_seen) AS started,
       r.host, r.program, r.last_seen, r.ended,
       CASE WHEN r.ended IS NOT NULL THEN 'ended'
            WHEN r.last_seen >= now() - greatest(3 * coalesce(r.period, '0'), interval '10 s')
            THEN 'active' ELSE 'silent' END AS state
FROM mnemic.run r LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id
WHERE r.uuid::text LIKE '00000000-0000-4000-8000-fee7%';

-- Rows are newest first, by started then run; the state agrees.
SELECT (SELECT array_agg(run) FROM mnemic.runs('fleet-a'))
     = (SELECT array_agg(run ORDER BY started DESC, run DESC) FROM ref_runs
        WHERE tracer = 'fleet-a') AS same_order,
       (SELECT array_agg(state ORDER BY run) FROM mnemic.runs('fleet-a'))
     = (SELECT array_agg(state ORDER BY run) FROM ref_runs
        WHERE tracer = 'fleet-a') AS same_states;
SELECT state, count(*) FROM mnemic.runs('fleet-a') GROUP BY state ORDER BY state;

-- A page, and the next one from its last row's started and run.
SELECT run, started, host, pid, program, state
FROM mnemic.runs('fleet-a', page_size => 4);
SELECT started AS last_started, run AS last_run
FROM mnemic.runs('fleet-a', page_size => 4) WITH ORDINALITY WHERE ordinality = 4 \gset
SELECT run, started, host, pid, program, state
FROM mnemic.runs('fleet-a', page_size => 4, before_started => :'last_started',
                 before_run => :'last_run');
-- before_started alone: the runs that started strictly before it.
SELECT run, started FROM mnemic.runs('fleet-a', page_size => 4,
                                     before_started => '2024-03-03 17:00:00+00');
SELECT count(*) FROM mnemic.runs('fleet-a', page_size => 0);

-- Walking every page of 7 with the keyset gives the whole listing once,
-- in order, with or without filters.
CREATE TEMP TABLE walked (filtered boolean, page int, pos bigint, run uuid);
CREATE FUNCTION pg_temp.walk(filtered boolean) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    s timestamptz;
    u uuid;
    pages int := 0;
    n int;
BEGIN
    LOOP
        pages := pages + 1;
        INSERT INTO walked
        SELECT filtered, pages, r.ordinality, r.run
        FROM mnemic.runs('fleet-a', before_started => s, before_run => u,
                         page_size => 7,
                         host => CASE WHEN filtered THEN 'HOST-2' END,
                         state => CASE WHEN filtered THEN 'silent' END)
             WITH ORDINALITY AS r;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n < 7;
        SELECT r.started, r.run INTO s, u
        FROM walked w JOIN ref_runs r ON r.run = w.run
        WHERE w.filtered = walk.filtered AND w.page = pages AND w.pos = 7;
    END LOOP;
    RETURN pages;
END
$$;
SELECT pg_temp.walk(false) AS pages, pg_temp.walk(true) AS filtered_pages;
SELECT (SELECT array_agg(run ORDER BY page, pos) FROM walked WHERE NOT filtered)
     = (SELECT array_agg(run ORDER BY started DESC, run DESC) FROM ref_runs
        WHERE tracer = 'fleet-a') AS all_pages,
       (SELECT array_agg(run ORDER BY page, pos) FROM walked WHERE filtered)
     = (SELECT array_agg(run ORDER BY started DESC, run DESC) FROM ref_runs
        WHERE tracer = 'fleet-a' AND host ILIKE '%host-2%' AND state = 'silent')
       AS filtered_pages;

-- Each filter against the reference: (rows, rows the reference differs by).
CREATE FUNCTION pg_temp.check(got uuid[], want uuid[]) RETURNS text LANGUAGE sql AS $$
    SELECT cardinality(mine) || ' rows, '
        || (SELECT count(*) FROM (SELECT unnest(mine) EXCEPT ALL SELECT unnest(want)
                                  UNION ALL
                                  (SELECT unnest(want) EXCEPT ALL SELECT unnest(mine))) d)
        || ' differ'
    FROM (SELECT ARRAY(SELECT u FROM unnest(got) u
                       WHERE u::text LIKE '00000000-0000-4000-8000-fee7%') AS mine) m
$$;
SELECT 'host' AS filter, pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs(host => 'host-3')),
    ARRAY(SELECT run FROM ref_runs WHERE strpos(lower(host), 'host-3') > 0))
UNION ALL
SELECT 'program', pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs('fleet-b', program => 'BATCH')),
    ARRAY(SELECT run FROM ref_runs WHERE tracer = 'fleet-b' AND program LIKE '%batch%'))
UNION ALL
SELECT 'state ' || s, pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs(state => s)),
    ARRAY(SELECT run FROM ref_runs WHERE state = s))
FROM unnest(ARRAY['active', 'silent', 'ended']) s
UNION ALL
-- alive at some moment of [t_from, t_to]
SELECT 'time', pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs(t_from => '2024-03-02 00:00+00',
                                      t_to => '2024-03-02 12:00+00')),
    ARRAY(SELECT run FROM ref_runs WHERE started <= '2024-03-02 12:00+00'
          AND coalesce(ended, last_seen) >= '2024-03-02 00:00+00'))
UNION ALL
SELECT 'from', pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs('fleet-c', t_from => '2024-03-04 07:00+00')),
    ARRAY(SELECT run FROM ref_runs WHERE tracer = 'fleet-c'
          AND coalesce(ended, last_seen) >= '2024-03-04 07:00+00'))
UNION ALL
SELECT 'to', pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs(t_to => '2024-03-01 06:00+00')),
    ARRAY(SELECT run FROM ref_runs WHERE started <= '2024-03-01 06:00+00'))
UNION ALL
SELECT 'all at once', pg_temp.check(
    ARRAY(SELECT run FROM mnemic.runs('fleet-a', host => '.EXAMPLE', program => 'serve',
                                      state => 'silent', t_to => '2024-03-02 12:00+00')),
    ARRAY(SELECT run FROM ref_runs WHERE tracer = 'fleet-a' AND host LIKE '%.example%'
          AND program LIKE '%serve%' AND state = 'silent'
          AND started <= '2024-03-02 12:00+00'));
-- A filter value is text to look for, never a pattern or SQL.
SELECT count(*) FROM mnemic.runs('fleet-a', host => '%');
SELECT count(*) FROM mnemic.runs('fleet-a', host => '_ost-1.example');
SELECT count(*) FROM mnemic.runs('fleet-a', host => 'host-1.example');
SELECT count(*) FROM mnemic.runs('fleet-a', program => ''' OR true --');

-- tracers() counts what the same filters let through, and leaves out the
-- tracers with no such run; name keeps the tracers whose name contains it.
SELECT tracer, runs, active_runs FROM mnemic.tracers(name => 'FLEET');
SELECT tracer, runs, active_runs FROM mnemic.tracers(name => 'fleet', state => 'active');
SELECT tracer, runs FROM mnemic.tracers(name => 'fleet', host => 'host-1', program => 'batch');
SELECT t.tracer, t.runs = count(r.run) AS runs_agree, t.active_runs,
       t.last_seen = max(r.last_seen) AS last_seen_agrees
FROM mnemic.tracers(name => 'fleet-', t_to => '2024-03-04 00:00+00') t
JOIN ref_runs r ON r.tracer = t.tracer AND r.started <= '2024-03-04 00:00+00'
GROUP BY t.tracer, t.runs, t.active_runs, t.last_seen ORDER BY t.tracer;
SELECT count(*) FROM mnemic.tracers(name => 'no such tracer');

-- Runs not described yet: under a NULL tracer, listed with unnamed => true.
INSERT INTO mnemic.run (uuid, protocol, last_seen)
VALUES ('00000000-0000-4000-8000-fee70000f001', 'json', '2024-03-01');
SELECT (SELECT runs FROM mnemic.tracers() WHERE tracer IS NULL)
     = (SELECT count(*) FROM mnemic.run WHERE tracer_id IS NULL) AS counted;
SELECT run, tracer, state FROM mnemic.runs(unnamed => true)
WHERE run = '00000000-0000-4000-8000-fee70000f001';
SELECT count(*) FROM mnemic.runs(unnamed => true, host => 'host');
SELECT count(*) FROM mnemic.tracers(name => 'a') WHERE tracer IS NULL;

-- changed_since: a cursor taken now, and what changes after it.
SELECT mnemic.change_cursor() AS c0 \gset
SELECT count(*) FROM mnemic.runs(changed_since => :'c0');
SELECT count(*) FROM mnemic.tracers(changed_since => :'c0');
-- The store marks every run it writes: a run of fleet-b gets a point, and
-- a new run of a new tracer arrives.
SELECT mnemic.import_series('fleet-b', '00000000-0000-4000-8000-fee7000000d2', 'cpu',
                            ARRAY['2024-03-10 00:00:00+00']::timestamptz[], ARRAY[1]);
SELECT mnemic.import_series('fleet-d', '00000000-0000-4000-8000-fee70000f002', 'cpu',
                            ARRAY['2024-03-11 00:00:00+00']::timestamptz[], ARRAY[1]);
SELECT run, tracer, samples FROM mnemic.runs(changed_since => :'c0');
SELECT tracer, runs FROM mnemic.tracers(changed_since => :'c0');
-- Filters and paging still apply.
SELECT run FROM mnemic.runs('fleet-b', changed_since => :'c0');
SELECT run FROM mnemic.runs(changed_since => :'c0', page_size => 1);
SELECT count(*) FROM mnemic.runs('fleet-a', changed_since => :'c0');
SELECT tracer FROM mnemic.tracers(changed_since => :'c0', name => 'fleet-d');
-- A cursor taken later does not see them again.
SELECT mnemic.change_cursor() AS c1 \gset
SELECT count(*) FROM mnemic.runs(changed_since => :'c1');
-- Deleting a run is no row of runs(), but its tracer is listed with the
-- lower count, even with no run left.
SELECT mnemic.delete_run('00000000-0000-4000-8000-fee70000f002');
SELECT count(*) FROM mnemic.runs(changed_since => :'c1');
SELECT tracer, runs, active_runs FROM mnemic.tracers(changed_since => :'c1');
SELECT tracer, runs FROM mnemic.tracers(changed_since => :'c1', host => 'nowhere');

-- A run stops being active without any write: runs(changed_since) lists
-- it once its active_until has passed since the cursor's time.  Here the
-- cursor's time is set an hour back (its form is "<xid>:<microseconds
-- since 2000>"): a run last seen 30 min ago stopped being active since,
-- one last seen 2 h ago stopped before, an active one has not.
UPDATE mnemic.run SET last_seen = now() - interval '30 min'
WHERE uuid = '00000000-0000-4000-8000-fee700000014';
UPDATE mnemic.run SET last_seen = now() - interval '2 hours'
WHERE uuid = '00000000-0000-4000-8000-fee70000001e';
SELECT split_part(mnemic.change_cursor(), ':', 1) || ':' ||
       ((extract(epoch FROM now() - interval '1 hour') - 946684800) * 1000000)::bigint
       AS c_hour \gset
SELECT run, state FROM mnemic.runs(changed_since => :'c_hour');
SELECT tracer, runs, active_runs FROM mnemic.tracers(changed_since => :'c_hour');
-- and only once: from a cursor taken now, it has not changed.
SELECT mnemic.change_cursor() AS c2 \gset
SELECT count(*) FROM mnemic.runs(changed_since => :'c2');
-- Marks ahead of this database's transactions (rows restored from a dump
-- of a database further on) are no change.
UPDATE mnemic.run SET changed = '4000000000'::xid8
WHERE uuid = '00000000-0000-4000-8000-fee700000015';
UPDATE mnemic.tracer SET changed = '4000000000'::xid8 WHERE name = 'fleet-c';
SELECT count(*) FROM mnemic.runs(changed_since => :'c2');
SELECT count(*) FROM mnemic.tracers(changed_since => :'c2');

-- active_until: last_seen + greatest(3 * period, 10 s), days as 24 h and
-- months as 30 days; saturating; NULL for an unknown last_seen.
SELECT p AS period, mnemic.active_until('2024-03-01 00:00+00', p::interval)
FROM unnest(ARRAY[NULL, '1 s', '5 min', '-1 h', '1 day', '1 mon 1 day 1 s',
                  '100000000 years', '-100000000 years']) p;
SELECT mnemic.active_until('infinity', '1 s'), mnemic.active_until(NULL, '1 s'),
       mnemic.active_until('294276-12-31 00:00+00', '1 day');

-- Mistakes get errors that say what is wrong.
SELECT * FROM mnemic.runs('fleet-nobody');
SELECT * FROM mnemic.runs(state => 'running');
SELECT * FROM mnemic.tracers(state => 'Active');
SELECT * FROM mnemic.runs(page_size => -1);
SELECT * FROM mnemic.runs(before_run => '00000000-0000-4000-8000-000000000001');
SELECT * FROM mnemic.runs('fleet-a', unnamed => true);
SELECT * FROM mnemic.runs(t_from => '2024-03-02', t_to => '2024-03-01');
SELECT * FROM mnemic.runs(changed_since => '');
SELECT * FROM mnemic.runs(changed_since => 'abc');
SELECT * FROM mnemic.runs(changed_since => '12:');
SELECT * FROM mnemic.runs(changed_since => '-1:5');
SELECT * FROM mnemic.runs(changed_since => ' 1:5');
SELECT * FROM mnemic.runs(changed_since => '1:5:6');
SELECT * FROM mnemic.runs(changed_since => '99999999999999999999:0');
SELECT * FROM mnemic.tracers(changed_since => '18446744073709551615:0');

-- Clean up for the tests that follow.
SELECT count(*) FROM (SELECT mnemic.delete_run(run) FROM ref_runs) d;
DELETE FROM mnemic.tracer WHERE name LIKE 'fleet-%';
