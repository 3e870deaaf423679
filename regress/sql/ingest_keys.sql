-- Ingest keys: the secrets that sign datagrams under pg_mnemic.auth.  Only
-- the extension's owner adds, drops and reads them; each change is checked
-- and explained.  (This database is not pg_mnemic.database, hence the
-- warning on each add.)
SELECT mnemic.add_ingest_key(0, '\x000102030405060708090a0b0c0d0e0f');
SELECT mnemic.add_ingest_key(255, decode(repeat('ab', 64), 'hex'));
SELECT key_id, length(secret) AS bytes, added <= now() AS added_ok
FROM mnemic.ingest_key ORDER BY key_id;

-- A generated secret: 32 bytes, a different one each time.
SELECT mnemic.add_ingest_key(7) ~ '^7:[0-9a-f]{64}$' AS dolon_key;
SELECT mnemic.add_ingest_key(8) <> (SELECT '8:' || encode(secret, 'hex')
    FROM mnemic.ingest_key WHERE key_id = 7) AS differs;

-- Each wrong call says what is wrong.
SELECT mnemic.add_ingest_key(256, '\x000102030405060708090a0b0c0d0e0f');
SELECT mnemic.add_ingest_key(-1, '\x000102030405060708090a0b0c0d0e0f');
SELECT mnemic.add_ingest_key(1, '\x000102030405060708090a0b0c0d0e');
SELECT mnemic.add_ingest_key(1, decode(repeat('ab', 65), 'hex'));
SELECT mnemic.add_ingest_key(1, NULL);
SELECT mnemic.add_ingest_key(NULL, '\x000102030405060708090a0b0c0d0e0f');
SELECT mnemic.add_ingest_key(0, '\x000102030405060708090a0b0c0d0e0f');
SELECT mnemic.drop_ingest_key(3);
-- The table's constraints hold for the owner's own statements too.
\set VERBOSITY terse
INSERT INTO mnemic.ingest_key (key_id, secret) VALUES (300, '\x000102030405060708090a0b0c0d0e0f');
UPDATE mnemic.ingest_key SET secret = '\x00' WHERE key_id = 0;
\set VERBOSITY default

SELECT mnemic.drop_ingest_key(0);
SELECT mnemic.drop_ingest_key(7);
SELECT mnemic.drop_ingest_key(8);
SELECT key_id FROM mnemic.ingest_key ORDER BY key_id;

-- Nobody else sees or changes them: not a reader, not mnemic_owner.
CREATE ROLE regress_keys_reader LOGIN IN ROLE mnemic_reader;
CREATE ROLE regress_keys_admin LOGIN IN ROLE mnemic_owner;
SET ROLE regress_keys_reader;
SELECT count(*) FROM mnemic.ingest_key;
SELECT mnemic.add_ingest_key(1);
RESET ROLE;
SET ROLE regress_keys_admin;
SELECT count(*) FROM mnemic.ingest_key;
SELECT mnemic.drop_ingest_key(255);
DELETE FROM mnemic.ingest_key;
RESET ROLE;
SELECT key_id FROM mnemic.ingest_key ORDER BY key_id;

-- The trigger function is for the trigger only.
SELECT mnemic.ingest_key_changed();

SELECT mnemic.drop_ingest_key(255);
DROP ROLE regress_keys_reader, regress_keys_admin;
