-- export.sql: a run as CSV.

-- CSV of a whole run, one line per row (no line terminator): a header
-- "ts,<metric>,<metric>,..." (names quoted as CSV requires), then one line
-- per distinct timestamp in time order, empty fields where a metric has no
-- value at that time.  Timestamps are ISO 8601 in UTC.
CREATE FUNCTION mnemic.export_csv(run uuid)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'mnemic_export_csv'
LANGUAGE C STABLE STRICT;
