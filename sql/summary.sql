-- summary.sql: the summaries' merge rule and the functions that maintain
-- them by hand (the store maintains them as it writes; listener/summary.c).

-- How two sums of a bucket merge: as C adds doubles.  A sum beyond the
-- float8 range saturates to +/-Infinity (NaN once it has overflowed both
-- ways) instead of failing: no value a client sends may make a summary
-- write fail, as float8 + would with "value out of range: overflow".
-- Such a bucket's avg is then +/-Infinity or NaN; M4, LTTB, raw points and
-- CSV are exact for any float8.
CREATE FUNCTION mnemic.summary_sum(a float8, b float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'mnemic_summary_sum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- SQL twin of SummaryAppend(): add points of one metric to its summaries.
-- For tests and for blocks written without the store; not for readers.
-- Buckets are merged in memory and written once per transaction, at commit.
CREATE FUNCTION mnemic.summary_append(metric_id int, ts timestamptz[],
                                      value float8[])
RETURNS void
AS 'MODULE_PATHNAME', 'mnemic_summary_append'
LANGUAGE C STRICT VOLATILE;

-- Rebuild a metric's summaries from its blocks (after manual edits).
CREATE FUNCTION mnemic.summary_rebuild(metric_id int)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_summary_rebuild'
LANGUAGE C STRICT VOLATILE;
