-- ingest_keys.sql: the secrets that sign datagrams (pg_mnemic.auth), kept
-- in mnemic.ingest_key (schema.sql).

-- Marks a transaction that changed the keys; when it commits, the listener
-- is asked to read them again.
CREATE FUNCTION mnemic.ingest_key_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mnemic_ingest_key_changed'
LANGUAGE C;

CREATE TRIGGER ingest_key_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mnemic.ingest_key
FOR EACH STATEMENT EXECUTE FUNCTION mnemic.ingest_key_changed();

-- Add a key and return it as a client takes it: 'ID:HEX' (dolon's key=,
-- --key and DOLON_KEY).  The secret is 16 to 64 bytes; 32 random ones are
-- the right size for HMAC-SHA-256.
--   SELECT mnemic.add_ingest_key(1, decode('<openssl rand -hex 32>', 'hex'));
CREATE FUNCTION mnemic.add_ingest_key(key_id int, secret bytea)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF add_ingest_key.key_id IS NULL OR add_ingest_key.secret IS NULL THEN
        RAISE EXCEPTION 'an ingest key needs a key id and a secret'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF add_ingest_key.key_id NOT BETWEEN 0 AND 255 THEN
        RAISE EXCEPTION 'ingest key id % is out of range', add_ingest_key.key_id
            USING ERRCODE = 'numeric_value_out_of_range',
                  HINT = 'Key ids are 0 to 255: one byte of a signed datagram names its key.';
    END IF;
    IF length(add_ingest_key.secret) NOT BETWEEN 16 AND 64 THEN
        RAISE EXCEPTION 'an ingest key''s secret must be 16 to 64 bytes, not %',
                        length(add_ingest_key.secret)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 32 random bytes: mnemic.add_ingest_key(key_id) makes them.';
    END IF;
    BEGIN
        INSERT INTO mnemic.ingest_key (key_id, secret)
        VALUES (add_ingest_key.key_id, add_ingest_key.secret);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'ingest key % already exists', add_ingest_key.key_id
            USING ERRCODE = 'duplicate_object',
                  HINT = format('Drop it first with mnemic.drop_ingest_key(%s), or add the new secret under another key id and move the clients to it.',
                                add_ingest_key.key_id);
    END;
    IF current_database() <> coalesce(current_setting('pg_mnemic.database', true),
                                      current_database()) THEN
        RAISE WARNING 'the listener receives into database "%", not this one: it does not use this key',
                      current_setting('pg_mnemic.database');
    END IF;
    RETURN add_ingest_key.key_id || ':' || encode(add_ingest_key.secret, 'hex');
END
$$;

-- The same with a new random secret of 32 bytes (244 random bits, from
-- PostgreSQL's strong random source through gen_random_uuid()).
--   SELECT mnemic.add_ingest_key(2);
CREATE FUNCTION mnemic.add_ingest_key(key_id int)
RETURNS text
LANGUAGE sql VOLATILE
AS $$
SELECT mnemic.add_ingest_key(key_id,
         decode(replace(gen_random_uuid()::text || gen_random_uuid()::text,
                        '-', ''), 'hex'))
$$;

-- Remove a key: datagrams signed with it are dropped (unknown_key in
-- listener_stats()) as soon as the transaction commits.
--   SELECT mnemic.drop_ingest_key(1);
CREATE FUNCTION mnemic.drop_ingest_key(key_id int)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    DELETE FROM mnemic.ingest_key k WHERE k.key_id = drop_ingest_key.key_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ingest key % does not exist', drop_ingest_key.key_id
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT key_id FROM mnemic.ingest_key lists the keys.';
    END IF;
END
$$;

-- Per key id, the datagrams signed with it that the listener took since the
-- server started, and when the latest arrived: which keys the clients still
-- use (see the key rotation recipe in docs/sql.md).  Ids never used are left
-- out; a dropped key keeps its row until the server restarts.
--   SELECT * FROM mnemic.ingest_key_usage();
CREATE FUNCTION mnemic.ingest_key_usage(
    OUT key_id int, OUT datagrams bigint, OUT last_used timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mnemic_ingest_key_usage'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
