-- series.sql: one metric of a run, reduced for a chart.

-- A metric of a run over [t_from, t_to] (NULL: the metric's first / last
-- point), reduced for a chart `points` pixels wide.  Methods:
--   'm4'   first, min, max and last point of every pixel column (Jugel et
--          al., VLDB 2014): drawn `points` wide, identical to the raw line;
--   'lttb' about `points` points, Largest-Triangle-Three-Buckets;
--   'avg'  the mean of each column, at the column's middle;
--   'raw'  every stored point as stored; an error above 1,000,000 points.
-- Column boundaries come from mnemic.series_grid(): the range is widened
-- outward to whole columns.  Gaps stay gaps: a NULL value is returned for
-- missing values (NULL, NaN, +/-Infinity; 'raw' returns them as stored)
-- and between two points further apart than 5 times the typical spacing
-- (the run's period, else the median spacing of the metric's first block)
-- and, except for 'raw', than a pixel column.  Finite values only enter
-- M4's min/max/first/last, avg's means and LTTB's choice.
CREATE FUNCTION mnemic.series(run uuid, metric text,
                              t_from timestamptz DEFAULT NULL,
                              t_to timestamptz DEFAULT NULL,
                              points int DEFAULT 1000,
                              method text DEFAULT 'm4')
RETURNS TABLE (ts timestamptz, value float8)
AS 'MODULE_PATHNAME', 'mnemic_series'
LANGUAGE C STABLE CALLED ON NULL INPUT ROWS 1000;

-- How series() would answer m4/avg: its pixel columns (start, width,
-- count), the summary level it reads (NULL: raw blocks) and the gap
-- threshold (NULL: no gap detection).
CREATE FUNCTION mnemic.series_grid(run uuid, metric text,
                                   t_from timestamptz DEFAULT NULL,
                                   t_to timestamptz DEFAULT NULL,
                                   points int DEFAULT 1000)
RETURNS TABLE (grid_start timestamptz, column_width interval,
               columns int, level int, gap interval)
AS 'MODULE_PATHNAME', 'mnemic_series_grid'
LANGUAGE C STABLE CALLED ON NULL INPUT;
