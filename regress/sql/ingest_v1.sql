--
-- mnemic.ingest_datagram(bytea), binary v1 (docs/protocol.md): the
-- datagrams below are spelled out field by field.  v1 carries the sender's
-- timestamps, a per-run sequence number (gaps count as lost), a run
-- description and an end-of-run message.
--
SET timezone = 'UTC';

-- Sequence 0: the run description (tracer, host, pid, program, Python
-- version, period and the names of metrics 0 and 1) and three ticks.  NaN
-- means "not measured" and is stored as NULL; infinities are stored as is.
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0200' || -- 2 messages
  '000000000000400080000000000000a1' || -- run 00000000-0000-4000-8000-0000000000a1
  '00000000' || -- sequence 0
  '01004500' || -- DESCRIBE, 69 bytes
  '00401e18240a0600' || -- started (µs since 1970)
  '92100000' || -- pid 4242
  'a0860100' || -- period 100000 µs
  '020000000200' || -- 2 metrics, names of 0..1
  '060076312d617070' || -- tracer 'v1-app'
  '0300626f78' || -- host 'box'
  '0e00707974686f6e33206170702e7079' || -- program 'python3 app.py'
  '0600332e31312e32' || -- python '3.11.2'
  '0300637075' || -- metric 'cpu'
  '0300727373' || -- metric 'rss'
  '02004c00' || -- TICKS, 76 bytes
  '00401e18240a0600' || -- base time
  '0000020003000000' || -- metrics 0.., 2 values x 3 ticks
  '00000000000000000000f83f0000000000005940' || -- +0 µs: [1.5, 100.0]
  'a0860100000000000000f87f0000000000006940' || -- +100000 µs: [nan, 200.0]
  '400d0300000000000000f07f0000000000c07240',   -- +200000 µs: [inf, 300.0]
  'hex'));

SELECT tracer, metric, ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-0000000000a1' ORDER BY metric, ts;

SELECT r.protocol, t.name AS tracer, r.host, r.pid, r.program, r.python_version,
       r.period, r.started, r.ended
FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id
WHERE r.uuid = '00000000-0000-4000-8000-0000000000a1';

-- Sequence 3 (1 and 2 are missing): values of metric 1 only, and of
-- metric 2, which no description has named yet: it is stored under the
-- placeholder name col_2.
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0200' || -- 2 messages
  '000000000000400080000000000000a1' || -- run 00000000-0000-4000-8000-0000000000a1
  '03000000' || -- sequence 3
  '02002800' || -- TICKS, 40 bytes
  'e0d32218240a0600' || -- base time
  '0100010002000000' || -- metrics 1.., 1 values x 2 ticks
  '000000000000000000007940' || -- +0 µs: [400.0]
  'a08601000000000000407f40' || -- +100000 µs: [500.0]
  '02001c00' || -- TICKS, 28 bytes
  'e0d32218240a0600' || -- base time
  '0200010001000000' || -- metrics 2.., 1 values x 1 ticks
  '000000000000000000001c40',   -- +0 µs: [7.0]
  'hex'));

SELECT metric, ts, value FROM mnemic.samples
WHERE run = '00000000-0000-4000-8000-0000000000a1' AND ts >= '2023-11-14 22:13:20.3+00'
ORDER BY metric, ts;

-- Sequence 4: a description naming metric 2 (the placeholder is renamed) and
-- the end of the run.
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0200' || -- 2 messages
  '000000000000400080000000000000a1' || -- run 00000000-0000-4000-8000-0000000000a1
  '04000000' || -- sequence 4
  '01003f00' || -- DESCRIBE, 63 bytes
  '00401e18240a0600' || -- started (µs since 1970)
  '92100000' || -- pid 4242
  'a0860100' || -- period 100000 µs
  '030002000100' || -- 3 metrics, names of 2..2
  '060076312d617070' || -- tracer 'v1-app'
  '0300626f78' || -- host 'box'
  '0e00707974686f6e33206170702e7079' || -- program 'python3 app.py'
  '0600332e31312e32' || -- python '3.11.2'
  '02006763' || -- metric 'gc'
  '03000800' || -- END
  '40822d18240a0600',   -- ended
  'hex'));

SELECT m.idx, m.name FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
WHERE r.uuid = '00000000-0000-4000-8000-0000000000a1' ORDER BY m.idx;

-- Three datagrams arrived out of the five numbered 0..4: two are lost.
SELECT datagrams, first_seq, max_seq, lost, samples, ended
FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-0000000000a1';

-- A late datagram (sequence 1) fills a gap: lost goes down again.
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a1' || -- run 00000000-0000-4000-8000-0000000000a1
  '01000000' || -- sequence 1
  '02001c00' || -- TICKS, 28 bytes
  '90102218240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '000000000000000000000440',   -- +0 µs: [2.5]
  'hex'));
SELECT datagrams, first_seq, max_seq, lost
FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-0000000000a1';

-- Sequence numbers wrap at 2^32; the run keeps them unwrapped, so a run
-- crossing the wrap counts no false loss.
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a2' || -- run 00000000-0000-4000-8000-0000000000a2
  'ffffffff' || -- sequence 4294967295
  '02001c00' || -- TICKS, 28 bytes
  '00401e18240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '00000000000000000000f03f',   -- +0 µs: [1.0]
  'hex'));
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a2' || -- run 00000000-0000-4000-8000-0000000000a2
  '00000000' || -- sequence 0
  '02001c00' || -- TICKS, 28 bytes
  'e8431e18240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '000000000000000000000040',   -- +0 µs: [2.0]
  'hex'));
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a2' || -- run 00000000-0000-4000-8000-0000000000a2
  '02000000' || -- sequence 2
  '02001c00' || -- TICKS, 28 bytes
  'd0471e18240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '000000000000000000000840',   -- +0 µs: [3.0]
  'hex'));
SELECT datagrams, first_seq, max_seq, lost
FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-0000000000a2';

-- Malformed v1 datagrams are dropped whole, with the reason.
SELECT mnemic.ingest_datagram(decode('4d4e454d0200', 'hex'));
-- version 2
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '02' || -- version 2
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a3' || -- run 00000000-0000-4000-8000-0000000000a3
  '00000000' || -- sequence 0
  '02001c00' || -- TICKS, 28 bytes
  '00401e18240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '00000000000000000000f03f',   -- +0 µs: [1.0]
  'hex'));
-- a reserved flag bit set
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '02' || -- flags: reserved bit 1
  '0100' || -- 1 messages
  '000000000000400080000000000000a3' || -- run 00000000-0000-4000-8000-0000000000a3
  '00000000' || -- sequence 0
  '02001c00' || -- TICKS, 28 bytes
  '00401e18240a0600' || -- base time
  '0000010001000000' || -- metrics 0.., 1 values x 1 ticks
  '00000000000000000000f03f',   -- +0 µs: [1.0]
  'hex'));
-- the TICKS message claims 2 ticks but carries 1
SELECT mnemic.ingest_datagram(decode(
  '4d4e454d' || -- magic MNEM
  '01' || -- version 1
  '00' || -- flags
  '0100' || -- 1 messages
  '000000000000400080000000000000a3' || -- run 00000000-0000-4000-8000-0000000000a3
  '00000000' || -- sequence 0
  '02001c00' || -- TICKS, 28 bytes
  '00401e18240a0600' || -- base time
  '0000010002000000' || -- metrics 0.., 1 values x 2 ticks
  '00000000000000000000f03f',   -- +0 µs: [1.0]
  'hex'));
SELECT count(*) FROM mnemic.run WHERE uuid = '00000000-0000-4000-8000-0000000000a3';
