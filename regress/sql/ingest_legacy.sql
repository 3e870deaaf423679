--
-- mnemic.ingest_datagram(bytea) handles one datagram exactly as if it had
-- arrived on the UDP socket, and stores it in the calling transaction.  It
-- returns the number of samples stored.
--
-- This file: the legacy JSON format of dolon 0.2.0 (docs/protocol.md).
-- A header names the tracer (app_name) and the columns; each row is one
-- tick, stamped with the time it arrived.
--
SET timezone = 'UTC';

SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "create_trace_run", "app_name": "legacy-app",
    "column_names": ["cpu", "mem"],
    "uuid": "00000000-0000-4000-8000-000000000201"}', 'UTF8'));

SELECT clock_timestamp() AS before_rows \gset
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [12.5, 1024],
    "uuid": "00000000-0000-4000-8000-000000000201"}', 'UTF8'));
-- null is stored as NULL; NaN and Infinity as the float8 values.
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [null, NaN],
    "uuid": "00000000-0000-4000-8000-000000000201"}', 'UTF8'));
-- Keys come in any order; unknown keys are ignored.
SELECT mnemic.ingest_datagram(convert_to(
  '{"uuid": "00000000-0000-4000-8000-000000000201", "extra": {"a": [1]},
    "row_data": [Infinity, -Infinity], "msg_type": "row"}', 'UTF8'));
SELECT clock_timestamp() AS after_rows \gset

SELECT tracer, metric, value, ts BETWEEN :'before_rows' AND :'after_rows' AS stamped_on_arrival
FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-000000000201'
ORDER BY ts, metric;

SELECT protocol, datagrams, samples, lost, first_seq, last_seen >= first_seen AS seen
FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-000000000201';

-- Rows may arrive before their header, or without one: their values are
-- stored under placeholder names col_<position>, and the run has no tracer.
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1, 2, 3],
    "uuid": "00000000-0000-4000-8000-000000000202"}', 'UTF8'));
SELECT tracer, metric, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000202' ORDER BY metric;

-- The header, when it comes, names the tracer and renames the columns it
-- knows; a row longer than the header keeps its extra placeholder.
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "create_trace_run", "app_name": "late-header",
    "column_names": ["a", "b"],
    "uuid": "00000000-0000-4000-8000-000000000202"}', 'UTF8'));
SELECT tracer, metric, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-000000000202' ORDER BY metric;

-- A malformed datagram is dropped whole: a WARNING names the reason (as
-- mnemic.listener_malformed() counts it) and the result is NULL.
SELECT sum(count) AS malformed_before FROM mnemic.listener_malformed() \gset
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1, 2', 'UTF8'));
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [true],
    "uuid": "00000000-0000-4000-8000-000000000203"}', 'UTF8'));
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1]}', 'UTF8'));
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "bye", "uuid": "00000000-0000-4000-8000-000000000203"}', 'UTF8'));
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1], "uuid": "not-a-uuid"}', 'UTF8'));
SELECT mnemic.ingest_datagram(''::bytea);
SELECT sum(count) - :malformed_before AS malformed_counted
FROM mnemic.listener_malformed();
SELECT count(*) FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-000000000203';
