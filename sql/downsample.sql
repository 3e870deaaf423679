-- downsample.sql: generic downsampling aggregates for any table of (ts, value)
-- rows.

-- Generic downsampling aggregates, for any table of (ts, value) rows, in any
-- order.  They return an array of points; unnest() it for rows:
--   SELECT p.* FROM unnest((SELECT mnemic.lttb(ts, v, 500) FROM t)) p;
-- NULL, NaN and +/-Infinity values are skipped.

-- The extra arguments repeat the aggregate's, as PostgreSQL passes them.
CREATE FUNCTION mnemic.lttb_accum(internal, timestamptz, float8, int)
RETURNS internal
AS 'MODULE_PATHNAME', 'mnemic_lttb_accum'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION mnemic.lttb_final(internal, timestamptz, float8, int)
RETURNS mnemic.point[]
AS 'MODULE_PATHNAME', 'mnemic_lttb_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

-- Largest-Triangle-Three-Buckets down to n points.
CREATE AGGREGATE mnemic.lttb(ts timestamptz, value float8, n int) (
    SFUNC = mnemic.lttb_accum,
    STYPE = internal,
    FINALFUNC = mnemic.lttb_final,
    FINALFUNC_EXTRA
);

CREATE FUNCTION mnemic.m4_accum(internal, timestamptz, float8, timestamptz,
                                timestamptz, int)
RETURNS internal
AS 'MODULE_PATHNAME', 'mnemic_m4_accum'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION mnemic.m4_final(internal, timestamptz, float8, timestamptz,
                                timestamptz, int)
RETURNS mnemic.point[]
AS 'MODULE_PATHNAME', 'mnemic_m4_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

-- M4 over `width` columns of equal length covering [t_from, t_to]: column
-- c holds t_from + c * w <= ts < t_from + (c + 1) * w, with
-- w = ceil((t_to - t_from + 1 microsecond) / width).  Points outside
-- [t_from, t_to] are ignored.
CREATE AGGREGATE mnemic.m4(ts timestamptz, value float8, t_from timestamptz,
                           t_to timestamptz, width int) (
    SFUNC = mnemic.m4_accum,
    STYPE = internal,
    FINALFUNC = mnemic.m4_final,
    FINALFUNC_EXTRA
);
