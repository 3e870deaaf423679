-- The generic downsampling aggregates mnemic.lttb() and mnemic.m4(), for
-- any table of (ts, value) rows in any order.  They return mnemic.point[];
-- unnest() turns it into rows.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;

-- 1,000 points a second apart, in scrambled order, plus rows the
-- aggregates skip: NULL time, NULL value, NaN and +/-Infinity.
CREATE TABLE readings (ts timestamptz, v float8);
INSERT INTO readings
SELECT timestamptz '2026-03-01 12:00:00+00' + ((i * 389) % 1000) * interval '1 s',
       ((i * 389) % 1000 * 7919 % 1009) / 10.0
FROM generate_series(0, 999) i;
INSERT INTO readings VALUES
    (NULL, 1), ('2026-03-01 12:00:10.5+00', NULL), ('2026-03-01 12:00:20.5+00', 'NaN'),
    ('2026-03-01 12:00:30.5+00', 'Infinity'), ('2026-03-01 12:00:40.5+00', '-Infinity');

-- M4 over 4 columns of 250 s: first, min, max, last of each, in time order.
SELECT p.* FROM unnest((SELECT mnemic.m4(ts, v, '2026-03-01 12:00:00+00',
                                         '2026-03-01 12:16:39+00', 4) FROM readings)) p;

-- The same by hand, per column.
SELECT col, min(ts) AS first_ts, max(ts) AS last_ts, min(v) AS min, max(v) AS max
FROM (SELECT ts, v,
             floor(extract(epoch FROM ts - '2026-03-01 12:00:00+00') / 250) AS col
      FROM readings WHERE ts IS NOT NULL AND v IS NOT NULL
        AND v NOT IN ('NaN', 'Infinity', '-Infinity')) q
GROUP BY col ORDER BY col;

-- Input order does not matter.
SELECT (SELECT mnemic.m4(ts, v, '2026-03-01 12:00:00+00', '2026-03-01 12:16:39+00', 37)
        FROM (SELECT * FROM readings ORDER BY ts) q)
     = (SELECT mnemic.m4(ts, v, '2026-03-01 12:00:00+00', '2026-03-01 12:16:39+00', 37)
        FROM (SELECT * FROM readings ORDER BY v DESC) q) AS m4_order_free,
       (SELECT mnemic.lttb(ts, v, 50) FROM (SELECT * FROM readings ORDER BY ts) q)
     = (SELECT mnemic.lttb(ts, v, 50) FROM (SELECT * FROM readings ORDER BY v DESC) q)
       AS lttb_order_free;

-- Points outside [t_from, t_to] are ignored.
SELECT p.* FROM unnest((SELECT mnemic.m4(ts, v, '2026-03-01 12:00:05+00',
                                         '2026-03-01 12:00:09+00', 2) FROM readings)) p;

-- LTTB keeps the first and last point and n - 2 between.
SELECT cardinality(a) AS points, a[1] AS first, a[cardinality(a)] AS last
FROM (SELECT mnemic.lttb(ts, v, 10) AS a FROM readings) q;
SELECT p.* FROM unnest((SELECT mnemic.lttb(ts, v, 5) FROM readings)) p;
-- n at or above the number of points: every finite point.
SELECT cardinality(mnemic.lttb(ts, v, 1000)), cardinality(mnemic.lttb(ts, v, 5000))
FROM readings;

-- Per group, as any aggregate.
SELECT g, cardinality(mnemic.lttb(ts, v, 3)) FROM readings, LATERAL (SELECT extract(minute FROM ts) < 8 AS g) x
WHERE ts IS NOT NULL GROUP BY g ORDER BY g;

-- No rows, or only skipped ones: an empty array.
SELECT mnemic.lttb(ts, v, 3) AS no_rows, mnemic.m4(ts, v, now(), now(), 3) AS no_rows
FROM readings WHERE false;
SELECT mnemic.lttb(ts, v, 3) AS skipped, mnemic.m4(ts, v, now(), now(), 3) AS skipped
FROM readings WHERE v IS NULL;

-- Bad arguments.
SELECT mnemic.lttb(ts, v, 0) FROM readings;
SELECT mnemic.m4(ts, v, '2026-03-01+00', '2026-03-02+00', 0) FROM readings;
SELECT mnemic.m4(ts, v, '2026-03-02+00', '2026-03-01+00', 10) FROM readings;
SELECT mnemic.m4(ts, v, NULL, '2026-03-01+00', 10) FROM readings;

DROP TABLE readings;
