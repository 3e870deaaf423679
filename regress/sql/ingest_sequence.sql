--
-- Lost datagrams from v1 sequence numbers (docs/protocol.md): a gap counts
-- as lost until a late datagram fills it; a number far outside the run's
-- window starts a new sequence, counted in seq_resets, instead of counting
-- as loss.  Each ingest_datagram() call is a flush of its own; what the
-- listener's inserter sees of many datagrams in one flush is tested end to
-- end (regress/e2e) and in regress/decoder/test_sequence.c.
--
-- A v1 datagram of run r with sequence number seq and one message of an
-- unknown kind (0x7f, empty): accepted, stores nothing, counts for the
-- sequence.
CREATE FUNCTION seq_datagram(r uuid, seq bigint) RETURNS bytea
LANGUAGE sql AS $$
    SELECT decode('4d4e454d' || '01' || '00' || '0100' ||
                  replace(r::text, '-', '') ||
                  (SELECT string_agg(substr(lpad(to_hex(seq), 8, '0'), 7 - 2 * i, 2), ''
                                     ORDER BY i)
                   FROM generate_series(0, 3) i) ||
                  '7f000000', 'hex')
$$;
CREATE FUNCTION run_seq(r uuid)
RETURNS TABLE (datagrams bigint, first_seq bigint, max_seq bigint,
               seq_datagrams bigint, lost bigint, seq_resets bigint)
LANGUAGE sql AS $$
    SELECT datagrams, first_seq, max_seq, seq_datagrams, lost, seq_resets
    FROM mnemic.run WHERE uuid = r
$$;

SELECT lost AS lost_before, seq_resets AS resets_before
FROM mnemic.listener_stats() \gset

-- 0, 1, 2, then 5: 3 and 4 are lost.
SELECT count(mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f201', s)))
FROM unnest(ARRAY[0, 1, 2, 5]) s;
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f201');
-- 4 arrives late: one lost.
SELECT mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f201', 4));
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f201');

-- One datagram with a random number: a new sequence, not 2.6 billion lost;
-- then the run goes on from 6 (back to its own numbering: a second reset).
SELECT mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f201', 2654435769));
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f201');
SELECT count(mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f201', s)))
FROM unnest(ARRAY[6, 7, 9]) s;
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f201');

-- Wrapping past 2^32 is one sequence: no reset, no loss.
SELECT count(mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f203', s)))
FROM unnest(ARRAY[4294967294, 4294967295, 0, 1]) s;
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f203');

-- A gap of a million is plausible loss, of 2^21 not.
SELECT count(mnemic.ingest_datagram(seq_datagram('00000000-0000-4000-8000-00000000f204', s)))
FROM unnest(ARRAY[0, 1000001, 1000001 + 2097152]) s;
SELECT * FROM run_seq('00000000-0000-4000-8000-00000000f204');

-- The listener's counters add up over all runs.
SELECT lost - :lost_before AS lost, seq_resets - :resets_before AS seq_resets
FROM mnemic.listener_stats();
