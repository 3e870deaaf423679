-- mnemic.series(): a metric of a run, reduced for a chart.
--
-- The known answers below come from straightforward reference
-- implementations written in this file: M4 in plain SQL over the
-- mnemic.samples view, LTTB in PL/pgSQL.  series() must agree with them
-- exactly, whether it answered from the summaries or from the raw blocks.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;

-- 20,000 pseudo-random points of 'wave', 50 ms apart with up to 49 ms of
-- jitter, and a second value at the same instant for every 997th point.
-- Imported odd points first, then even ones: the blocks overlap in time
-- and summaries are merged out of order.
CREATE TABLE wave_points AS
SELECT timestamptz '2026-01-01 00:00:00+00'
         + (i * 50 + (i * 7919) % 49) * interval '1 ms' AS ts,
       round((sin(i / 37.0) * 10 + ((i * 104729) % 101) / 10.0)::numeric, 3)::float8 AS value,
       i
FROM generate_series(0, 19999) i
UNION ALL
SELECT timestamptz '2026-01-01 00:00:00+00'
         + (i * 50 + (i * 7919) % 49) * interval '1 ms',
       -((i * 31) % 17)::float8, i
FROM generate_series(0, 19999, 997) i;

SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a001',
                            'wave', array_agg(ts ORDER BY i), array_agg(value ORDER BY i))
FROM wave_points WHERE i % 2 = 1;
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a001',
                            'wave', array_agg(ts ORDER BY i), array_agg(value ORDER BY i))
FROM wave_points WHERE i % 2 = 0;

-- Reference M4 in plain SQL: per pixel column of the grid series() uses,
-- the first (lowest ts, then value), last (highest ts, then value), min
-- (lowest value, earliest) and max (highest value, earliest) point.
CREATE FUNCTION ref_m4(run uuid, metric text, grid_start timestamptz,
                       column_width interval, columns int)
RETURNS TABLE (ts timestamptz, value float8) LANGUAGE sql AS $$
    WITH p AS (
        SELECT s.ts, s.value,
               (extract(epoch FROM s.ts - grid_start) * 1000000)::bigint
                 / (extract(epoch FROM column_width) * 1000000)::bigint AS col
        FROM mnemic.samples s
        WHERE s.run = ref_m4.run AND s.metric = ref_m4.metric
          AND s.ts >= grid_start AND s.ts < grid_start + columns * column_width
          AND s.value NOT IN ('NaN', 'Infinity', '-Infinity')
    ), extremes AS (
        (SELECT DISTINCT ON (col) col, ts, value FROM p ORDER BY col, ts, value)
        UNION
        (SELECT DISTINCT ON (col) col, ts, value FROM p ORDER BY col, ts DESC, value DESC)
        UNION
        (SELECT DISTINCT ON (col) col, ts, value FROM p ORDER BY col, value, ts)
        UNION
        (SELECT DISTINCT ON (col) col, ts, value FROM p ORDER BY col, value DESC, ts)
    )
    SELECT ts, value FROM extremes ORDER BY ts, value
$$;

-- series() as an array in its output order, and the same for a reference.
CREATE FUNCTION series_array(run uuid, metric text, t_from timestamptz,
                             t_to timestamptz, points int, method text)
RETURNS mnemic.point[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg((s.ts, s.value)::mnemic.point ORDER BY s.o), '{}')
    FROM mnemic.series(run, metric, t_from, t_to, points, method)
         WITH ORDINALITY AS s (ts, value, o)
$$;

-- Compare M4 three ways on the grid series() chooses: series() itself (from
-- summaries when level is not NULL), the C aggregate mnemic.m4() over the
-- raw points, and the SQL reference.
CREATE FUNCTION check_m4(t_from timestamptz, t_to timestamptz, points int)
RETURNS TABLE (level int, columns int, rows int, same_as_aggregate boolean,
               same_as_reference boolean)
LANGUAGE sql AS $$
    WITH g AS (
        SELECT * FROM mnemic.series_grid('00000000-0000-4000-8000-00000000a001',
                                         'wave', t_from, t_to, points)
    ), s AS (
        SELECT series_array('00000000-0000-4000-8000-00000000a001', 'wave',
                            t_from, t_to, points, 'm4') AS a
    ), agg AS (
        SELECT mnemic.m4(p.ts, p.value, g.grid_start,
                         g.grid_start + g.columns * g.column_width - interval '1 microsecond',
                         g.columns) AS a
        FROM mnemic.samples p, g
        WHERE p.run = '00000000-0000-4000-8000-00000000a001' AND p.metric = 'wave'
    ), ref AS (
        SELECT array_agg((r.ts, r.value)::mnemic.point ORDER BY r.ts, r.value) AS a
        FROM g, ref_m4('00000000-0000-4000-8000-00000000a001', 'wave',
                       g.grid_start, g.column_width, g.columns) r
    )
    SELECT g.level, g.columns, cardinality(s.a), s.a = agg.a, s.a = ref.a
    FROM g, s, agg, ref
$$;

-- Full range at 100 pixels (data far above points: from summaries), a zoom
-- that still reads summaries, one just below the finest level (raw blocks),
-- and more pixels than points.
SELECT * FROM check_m4(NULL, NULL, 100);
SELECT * FROM check_m4(NULL, NULL, 7);
SELECT * FROM check_m4('2026-01-01 00:03:00+00', '2026-01-01 00:09:00+00', 50);
SELECT * FROM check_m4('2026-01-01 00:03:00+00', '2026-01-01 00:09:00+00', 1000);
SELECT * FROM check_m4(NULL, NULL, 100000);

-- The grid: widened outward to whole summary buckets.
SELECT * FROM mnemic.series_grid('00000000-0000-4000-8000-00000000a001', 'wave',
                                 '2026-01-01 00:03:00.5+00', '2026-01-01 00:09:00+00', 50);

-- A column is never wider than a pixel, (t_to - t_from) / points: two
-- pixel columns must not share one min/max.  So there are at least as many
-- columns as pixels, and (the level chosen so) at most twice as many.  A
-- metric of one point a second for 9,999 s, at several widths; M4 from
-- summaries still equals M4 over the raw points on each grid.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a001',
                            'long', array_agg(t ORDER BY t), array_agg((i % 17)::float8 ORDER BY t))
FROM generate_series(0, 9999) i,
     LATERAL (SELECT timestamptz '2026-02-01 00:00:00+00' + i * interval '1 s') AS x (t);
SELECT p AS points, g.level, g.columns,
       g.columns BETWEEN p AND 2 * p AS columns_ok,
       g.column_width <= interval '9999 s' / p AS pixel_wide,
       (SELECT array_agg((s.ts, s.value)::mnemic.point ORDER BY s.o)
        FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'long',
                           '2026-02-01 00:00:00+00', '2026-02-01 02:46:39+00', p, 'm4')
             WITH ORDINALITY AS s (ts, value, o))
       = (SELECT mnemic.m4(x.ts, x.value, g.grid_start,
                           g.grid_start + g.columns * g.column_width - interval '1 microsecond',
                           g.columns)
          FROM mnemic.samples x
          WHERE x.run = '00000000-0000-4000-8000-00000000a001' AND x.metric = 'long')
       AS same_as_raw
FROM unnest(ARRAY[7, 50, 100, 333, 1000]) p,
     LATERAL mnemic.series_grid('00000000-0000-4000-8000-00000000a001', 'long',
                                '2026-02-01 00:00:00+00', '2026-02-01 02:46:39+00', p) g
ORDER BY p;

-- Reference LTTB in PL/pgSQL, step by step as Steinarsson describes it, on
-- points sorted by (ts, value).
CREATE FUNCTION ref_lttb(pts mnemic.point[], threshold int)
RETURNS SETOF mnemic.point LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(pts, 1), 0);
    xs float8[];
    ys float8[];
    every float8;
    a int := 0;
    avg_start int; avg_end int; range_start int; range_end int;
    avg_x float8; avg_y float8; ax float8; ay float8;
    area float8; max_area float8; next_a int;
BEGIN
    IF threshold >= n THEN
        RETURN QUERY SELECT * FROM unnest(pts);
        RETURN;
    END IF;
    RETURN NEXT pts[1];
    IF threshold = 1 THEN RETURN; END IF;
    IF threshold = 2 THEN RETURN NEXT pts[n]; RETURN; END IF;
    SELECT array_agg((extract(epoch FROM u.ts - pts[1].ts) * 1000000)::float8 ORDER BY o),
           array_agg(u.value ORDER BY o)
      INTO xs, ys FROM unnest(pts) WITH ORDINALITY AS u (ts, value, o);
    every := (n - 2)::float8 / (threshold - 2);
    -- indexes below count from 0 like the paper; arrays from 1
    FOR i IN 0 .. threshold - 3 LOOP
        avg_start := floor((i + 1) * every)::int + 1;
        avg_end := least(floor((i + 2) * every)::int + 1, n);
        range_start := floor(i * every)::int + 1;
        range_end := floor((i + 1) * every)::int + 1;
        avg_x := 0;
        avg_y := 0;
        FOR j IN avg_start .. avg_end - 1 LOOP
            avg_x := avg_x + xs[j + 1];
            avg_y := avg_y + ys[j + 1];
        END LOOP;
        avg_x := avg_x / (avg_end - avg_start);
        avg_y := avg_y / (avg_end - avg_start);
        ax := xs[a + 1];
        ay := ys[a + 1];
        max_area := -1;
        next_a := range_start;
        FOR j IN range_start .. range_end - 1 LOOP
            area := abs((ax - avg_x) * (ys[j + 1] - ay)
                        - (ax - xs[j + 1]) * (avg_y - ay)) * 0.5;
            IF area > max_area THEN
                max_area := area;
                next_a := j;
            END IF;
        END LOOP;
        RETURN NEXT pts[next_a + 1];
        a := next_a;
    END LOOP;
    RETURN NEXT pts[n];
END
$$;

CREATE FUNCTION wave_sorted(t_from timestamptz, t_to timestamptz)
RETURNS mnemic.point[] LANGUAGE sql AS $$
    SELECT array_agg((ts, value)::mnemic.point ORDER BY ts, value)
    FROM wave_points WHERE ts BETWEEN t_from AND t_to
$$;

-- LTTB: data far above, at, and below the points asked for; 1, 2, 3 points.
SELECT t.points,
       cardinality(series_array('00000000-0000-4000-8000-00000000a001', 'wave',
                                t.t_from, t.t_to, t.points, 'lttb')) AS rows,
       series_array('00000000-0000-4000-8000-00000000a001', 'wave',
                    t.t_from, t.t_to, t.points, 'lttb')
         = ARRAY(SELECT ref_lttb(wave_sorted(t.t_from, t.t_to), t.points)) AS same_as_reference
FROM (VALUES ('2026-01-01+00'::timestamptz, '2026-01-02+00'::timestamptz, 500),
             ('2026-01-01+00', '2026-01-02+00', 1),
             ('2026-01-01+00', '2026-01-02+00', 2),
             ('2026-01-01+00', '2026-01-02+00', 3),
             ('2026-01-01 00:01:00+00', '2026-01-01 00:01:09.99+00', 200),
             ('2026-01-01 00:01:00+00', '2026-01-01 00:01:05+00', 100),
             ('2026-01-01 00:01:00+00', '2026-01-01 00:01:05+00', 1000))
     AS t (t_from, t_to, points);

-- Above 200,000 points in range LTTB does not read them all: it runs over
-- the M4 reduction from the summaries.  Still `points` points, each one
-- stored, the first and last kept.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a005', 'big',
    array_agg(timestamptz '2026-01-01 00:00:00+00' + i * interval '10 ms' ORDER BY i),
    array_agg(sin(i / 3000.0) * 50 + (i::bigint * 7919 % 100) ORDER BY i))
FROM generate_series(0, 249999) i;
WITH l AS (
    SELECT s.* FROM mnemic.series('00000000-0000-4000-8000-00000000a005', 'big',
                                  points => 300, method => 'lttb') s
)
SELECT count(*) AS points,
       count(*) FILTER (WHERE (ts, value) IN (SELECT p.ts, p.value FROM mnemic.samples p
                        WHERE p.run = '00000000-0000-4000-8000-00000000a005')) AS stored,
       min(ts) AS first, max(ts) AS last
FROM l;

-- avg: column means at the middle of each column; every finite point
-- counted once, whether from summaries or raw.
SELECT count(*) AS columns, round(sum(value)::numeric, 6) AS sum_of_means
FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', points => 10, method => 'avg');
SELECT round(avg(value)::numeric, 6) AS mean_of_10_columns
FROM (SELECT avg(value) AS value,
             (extract(epoch FROM ts - g.grid_start) * 1000000)::bigint
               / (extract(epoch FROM g.column_width) * 1000000)::bigint AS col
      FROM wave_points,
           mnemic.series_grid('00000000-0000-4000-8000-00000000a001', 'wave', points => 10) g
      GROUP BY col) q;
SELECT round(avg(value)::numeric, 6) AS mean_of_series_avg
FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', points => 10, method => 'avg');

-- raw: every point in time order, NULL only where a gap is.
SELECT count(*) AS rows, count(value) AS values, bool_and(value IS NOT NULL) AS no_gaps
FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                   '2026-01-01 00:02:00+00', '2026-01-01 00:04:00+00', method => 'raw');

-- ---------------------------------------------------------------------
-- Gaps stay gaps.  'gappy': one point a second for 100 s, nothing for
-- 100 s, then 100 s more; a missing value (NULL), NaN, +Infinity and
-- -Infinity in the first part.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a002', 'gappy',
    array_agg(timestamptz '2026-01-01 00:00:00+00' + i * interval '1 s' ORDER BY i),
    array_agg(CASE i WHEN 50 THEN NULL WHEN 60 THEN 'NaN' WHEN 70 THEN 'Infinity'
                     WHEN 80 THEN '-Infinity' ELSE (i % 7)::float8 END ORDER BY i))
FROM generate_series(0, 299) i WHERE i < 100 OR i >= 200;

-- raw: stored values as they are, and a NULL in the middle of the hole
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a002', 'gappy',
                            '2026-01-01 00:00:47+00', '2026-01-01 00:03:22+00', method => 'raw')
WHERE ts NOT BETWEEN '2026-01-01 00:00:52+00' AND '2026-01-01 00:01:37+00';

-- m4 over 10 columns: NULL where values are missing and across the hole
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a002', 'gappy', points => 10);
-- lttb: a NULL between chosen points with a gap between them
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a002', 'gappy', points => 8,
                            method => 'lttb');
-- avg: means, NULL at missing values and across the hole
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a002', 'gappy', points => 8,
                            method => 'avg');
-- at 3 columns of 131 s, the 101 s hole is narrower than a pixel: no gap
SELECT * FROM mnemic.series_grid('00000000-0000-4000-8000-00000000a002', 'gappy', points => 4);
SELECT count(*) FILTER (WHERE value IS NULL) AS nulls,
       count(*) FILTER (WHERE value IS NULL AND ts > '2026-01-01 00:01:40+00') AS nulls_in_hole
FROM mnemic.series('00000000-0000-4000-8000-00000000a002', 'gappy', points => 4);

-- A metric whose values are all missing: one NULL point, at the first of
-- them, whatever the method; raw returns them as stored.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a002', 'unmeasured',
    ARRAY['2026-01-01 00:00:01+00', '2026-01-01 00:00:02+00', '2026-01-01 00:00:03+00']::timestamptz[],
    ARRAY[NULL, 'NaN', 'Infinity']::float8[]);
SELECT method, array_agg(s.ts ORDER BY s.ts) AS ts, array_agg(s.value ORDER BY s.ts) AS value
FROM unnest(ARRAY['m4', 'avg', 'lttb', 'raw']) method,
     LATERAL mnemic.series('00000000-0000-4000-8000-00000000a002', 'unmeasured',
                           points => 10, method => method) s
GROUP BY method ORDER BY method;

-- ---------------------------------------------------------------------
-- Edges.  A run described but without any point (legacy header only).
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "create_trace_run", "app_name": "regress-series-empty",'
  ' "column_names": ["a", "b"], "uuid": "00000000-0000-4000-8000-00000000a003"}', 'UTF8'));
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a003', 'a');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a003', 'a', method => 'lttb');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a003', 'a',
                            '2026-01-01+00', '2026-01-02+00', method => 'raw');
SELECT * FROM mnemic.series_grid('00000000-0000-4000-8000-00000000a003', 'a');

-- One point, two points, three values at one instant.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a004', 'one',
                            ARRAY['2026-01-01 00:00:01+00'::timestamptz], ARRAY[1.5]);
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a004', 'two',
                            ARRAY['2026-01-01 00:00:01+00', '2026-01-01 00:00:03+00']::timestamptz[],
                            ARRAY[1, 2]);
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a004', 'same',
                            ARRAY['2026-01-01 00:00:05+00', '2026-01-01 00:00:05+00',
                                  '2026-01-01 00:00:05+00']::timestamptz[],
                            ARRAY[3, -1, 7]);
SELECT m.metric, x.method, x.points, s.*
FROM (VALUES ('one'), ('two'), ('same')) m (metric),
     (VALUES ('m4', 1), ('m4', 2), ('lttb', 1), ('lttb', 2), ('lttb', 1000000),
             ('avg', 1), ('raw', 1)) x (method, points),
     LATERAL mnemic.series('00000000-0000-4000-8000-00000000a004', m.metric,
                           points => x.points, method => x.method) s
ORDER BY 1, 2, 3, s.ts, s.value;

-- Ranges outside the data: nothing.
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                                   '2020-01-01+00', '2020-01-02+00');
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                                   '2030-01-01+00', NULL);
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                                   NULL, '2020-01-01+00', method => 'lttb');
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                                   '-infinity', 'infinity', method => 'avg');

-- Clear errors that name the problem.
SELECT * FROM mnemic.series('00000000-0000-4000-8000-0000000000ff', 'wave');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'no such metric');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', method => 'cubic');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', points => 0);
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', points => -5);
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave', points => 2000000000);
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', 'wave',
                            '2026-01-02+00', '2026-01-01+00');
SELECT * FROM mnemic.series(NULL, 'wave');
SELECT * FROM mnemic.series('00000000-0000-4000-8000-00000000a001', NULL);

-- 'raw' stops above 1,000,000 points, and says what to do instead.
SELECT mnemic.import_series('regress-series', '00000000-0000-4000-8000-00000000a006', 'huge',
    array_agg(timestamptz '2026-01-01 00:00:00+00' + i * interval '1 ms' ORDER BY i),
    array_agg(i::float8 ORDER BY i))
FROM generate_series(0, 1000049) i;
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a006', 'huge', method => 'raw');
SELECT count(*) FROM mnemic.series('00000000-0000-4000-8000-00000000a006', 'huge',
                                   '2026-01-01 00:00:00+00', '2026-01-01 00:16:39.999+00',
                                   method => 'raw');

-- Summaries can be rebuilt from the blocks, and give the same answer.
SELECT series_array('00000000-0000-4000-8000-00000000a001', 'wave', NULL, NULL, 100, 'm4') AS before
\gset
SELECT mnemic.summary_rebuild(m.id)
FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-00000000a001';
SELECT series_array('00000000-0000-4000-8000-00000000a001', 'wave', NULL, NULL, 100, 'm4')
       = :'before'::mnemic.point[] AS same_after_rebuild;

DROP FUNCTION check_m4, ref_m4, series_array, ref_lttb, wave_sorted;
DROP TABLE wave_points;
SELECT mnemic.delete_run(r) FROM (VALUES ('00000000-0000-4000-8000-00000000a001'::uuid),
    ('00000000-0000-4000-8000-00000000a002'), ('00000000-0000-4000-8000-00000000a003'),
    ('00000000-0000-4000-8000-00000000a004'), ('00000000-0000-4000-8000-00000000a005'),
    ('00000000-0000-4000-8000-00000000a006')) v (r);
