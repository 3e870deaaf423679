--
-- What a failure while storing a run does.  Each run of a flush is stored in
-- its own subtransaction: when one fails, its samples are not stored, the
-- failure is reported with the run's uuid (a WARNING to an SQL caller, the
-- server log for the listener), counted in listener_stats().flush_errors
-- and kept as its last_error, and the other runs and the caller's
-- transaction carry on.
--
-- A trigger that refuses one run stands in for any failure.
CREATE FUNCTION refuse_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.uuid = '00000000-0000-4000-8000-000000000401' THEN
        RAISE EXCEPTION 'run refused by a trigger';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_run BEFORE INSERT OR UPDATE ON mnemic.run
FOR EACH ROW EXECUTE FUNCTION refuse_run();

SELECT flush_errors AS errors_before FROM mnemic.listener_stats() \gset

BEGIN;
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1, 2],
    "uuid": "00000000-0000-4000-8000-000000000401"}', 'UTF8'));
-- The transaction is still usable.
SELECT mnemic.import_series('fine', '00000000-0000-4000-8000-000000000402',
  'cpu', ARRAY['2024-01-01 00:00:00+00']::timestamptz[], ARRAY[1.0]);
COMMIT;

SELECT run, count(*) FROM mnemic.samples
WHERE run IN ('00000000-0000-4000-8000-000000000401',
              '00000000-0000-4000-8000-000000000402')
GROUP BY run ORDER BY run;
SELECT flush_errors - :errors_before AS new_errors, last_error
FROM mnemic.listener_stats();

-- Once the cause is gone, the same run is stored as usual.
DROP TRIGGER refuse_run ON mnemic.run;
SELECT mnemic.ingest_datagram(convert_to(
  '{"msg_type": "row", "row_data": [1, 2],
    "uuid": "00000000-0000-4000-8000-000000000401"}', 'UTF8'));
DROP FUNCTION refuse_run();

-- A datagram larger than UDP allows (65,507 bytes) is refused as oversized.
SELECT mnemic.ingest_datagram(convert_to(repeat(' ', 65508), 'UTF8'));

-- Until CREATE EXTENSION, the store says what is missing (shown here by
-- hiding the schema from a transaction that is rolled back).
BEGIN;
ALTER SCHEMA mnemic RENAME TO mnemic_hidden;
SELECT mnemic_hidden.import_series('t', '00000000-0000-4000-8000-000000000403',
  'cpu', ARRAY['2024-01-01 00:00:00+00']::timestamptz[], ARRAY[1.0]);
ROLLBACK;

-- mnemic.block is internal (docs/sql.md): the store finds the columns it
-- writes by name among the live ones.  A column it does not write would be
-- left NULL by the bulk path, so it is refused, by name, for the run being
-- stored; once the column is dropped again, storing works as before (the
-- dropped column stays behind as a dropped attribute).
ALTER TABLE mnemic.block ADD COLUMN note text;
SELECT mnemic.import_series('fine', '00000000-0000-4000-8000-000000000404',
  'cpu', ARRAY['2024-01-01 00:00:00+00']::timestamptz[], ARRAY[1.0]);
ALTER TABLE mnemic.block DROP COLUMN note;
SELECT mnemic.import_series('fine', '00000000-0000-4000-8000-000000000404',
  'cpu', ARRAY['2024-01-01 00:00:00+00']::timestamptz[], ARRAY[1.0]);
SELECT count(*) FROM mnemic.samples WHERE run = '00000000-0000-4000-8000-000000000404';
SELECT count(*) AS dropped_attributes FROM pg_attribute
WHERE attrelid = 'mnemic.block'::regclass AND attisdropped;
