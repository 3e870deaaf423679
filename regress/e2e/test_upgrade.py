"""ALTER EXTENSION pg_mnemic UPDATE from the released 0.1.

A database created at 0.1 (sql/pg_mnemic--0.1.sql, kept as released) and
updated must hold exactly the objects of a new install of the current
version, keep its data, and get its listener going again: until the update
the inserter waits, with one line in the log saying why, and what arrived
meanwhile is stored once the update is done.
"""
import difflib

from conftest import (TempCluster, new_run, stored_samples, v1_datagram,
                      v1_describe, v1_ticks, wait_until)

# Every object of schema mnemic, as text that differs when the object does:
# relations and their options and privileges, live columns in order,
# constraints, indexes, triggers, views, functions and aggregates with their
# definitions and privileges, sequences, comments, extension membership.
CATALOG = r"""
WITH ns AS (SELECT 'mnemic'::regnamespace AS oid)
SELECT 'relation', c.relname,
       c.relkind::text || ' ' || coalesce(array_to_string(c.reloptions, ','), '') ||
       ' acl=' || coalesce(c.relacl::text, '')
FROM pg_class c, ns WHERE c.relnamespace = ns.oid
UNION ALL
SELECT 'column', c.relname || '.' || a.attname,
       (row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text ||
       ' ' || format_type(a.atttypid, a.atttypmod) ||
       CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
       coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') ||
       ' acl=' || coalesce(a.attacl::text, '')
FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
     AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'v', 'S', 'c', 'm', 'p')
UNION ALL
SELECT 'constraint', k.conrelid::regclass::text || '.' || k.conname,
       pg_get_constraintdef(k.oid)
FROM pg_constraint k, ns WHERE k.connamespace = ns.oid
UNION ALL
SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid, ns
WHERE c.relnamespace = ns.oid
UNION ALL
SELECT 'view', c.relname, pg_get_viewdef(c.oid)
FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relkind = 'v'
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       CASE WHEN p.prokind = 'a'
            THEN (SELECT a.aggtransfn::text || ' ' || a.aggfinalfn::text || ' ' ||
                         a.aggtranstype::regtype::text || ' ' ||
                         a.aggfinalextra::text
                  FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
            ELSE pg_get_functiondef(p.oid) END ||
       ' acl=' || coalesce(p.proacl::text, '')
FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
UNION ALL
SELECT 'trigger', t.tgrelid::regclass::text || '.' || t.tgname,
       pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns
WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'comment', d.objoid::regclass::text, d.description
FROM pg_description d JOIN pg_class c ON c.oid = d.objoid, ns
WHERE c.relnamespace = ns.oid
UNION ALL
SELECT 'member', pg_describe_object(classid, objid, objsubid), deptype::text
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_mnemic')
UNION ALL
SELECT 'schema', nspname, coalesce(nspacl::text, '')
FROM pg_namespace WHERE nspname = 'mnemic'
ORDER BY 1, 2, 3
"""


def catalog(cluster, dbname):
    return ["%s %s: %s" % row for row in cluster.query(CATALOG, dbname=dbname)]


def test_update_from_0_1_equals_a_new_install_and_keeps_data():
    t0 = 1_700_000_000_000_000
    with TempCluster(create_extension=False,
                     settings={"pg_mnemic.flush_interval": "50"}) as c:
        c.query("CREATE EXTENSION pg_mnemic VERSION '0.1'")
        assert c.query("SELECT extversion FROM pg_extension "
                       "WHERE extname = 'pg_mnemic'") == [("0.1",)]
        # 0.1 data: a v1 run that lost one datagram, with one block.
        c.query("""
            INSERT INTO mnemic.tracer (name) VALUES ('old');
            INSERT INTO mnemic.run (uuid, tracer_id, protocol, datagrams,
                                    first_seq, max_seq, lost, samples)
            VALUES ('00000000-0000-4000-8000-000000000001', 1, 'v1', 3, 0, 3,
                    1, 2);
            INSERT INTO mnemic.metric (run_id, idx, name) VALUES (1, 0, 'cpu');
            INSERT INTO mnemic.block VALUES (1, '2024-01-01', '2024-01-01 00:00:01',
                2, '{2024-01-01, 2024-01-01 00:00:01}', '{1.5, 2.5}');
        """)

        # The library is newer than the objects: the inserter waits and
        # says why, once; datagrams sent meanwhile wait in the ring.
        waiting = ('extension pg_mnemic is at version 0.1 in database '
                   '"mnemic", its library at 0.2; waiting for the update')
        wait_until(lambda: c.log(), lambda log: waiting in log)
        run = new_run()
        c.send_udp([v1_datagram(run, 0, [v1_describe(t0, ["cpu"]),
                                         v1_ticks(t0, [[1.0], [2.0]])])])
        assert c.query("SELECT count(*) FROM mnemic.run WHERE uuid = %s",
                       (str(run),)) == [(0,)]

        c.query("ALTER EXTENSION pg_mnemic UPDATE")
        assert c.query("SELECT extversion FROM pg_extension "
                       "WHERE extname = 'pg_mnemic'") == [("0.2",)]
        wait_until(lambda: stored_samples(c, run), lambda n: n == 2)
        assert c.log().count(waiting) == 1

        # The old run keeps its points and its counters.
        assert c.query(
            "SELECT value FROM mnemic.series('00000000-0000-4000-8000-000000000001',"
            " 'cpu', NULL, NULL, 10, 'raw') ORDER BY ts") == [(1.5,), (2.5,)]
        assert c.query("SELECT lost, seq_datagrams, seq_resets FROM mnemic.run"
                       " WHERE id = 1") == [(1, 3, 0)]

        # The same objects as a new install, to the last privilege.
        c.query("CREATE DATABASE fresh", dbname="postgres")
        c.query("CREATE EXTENSION pg_mnemic", dbname="fresh")
        updated, fresh = catalog(c, "mnemic"), catalog(c, "fresh")
        assert len(fresh) > 100
        diff = list(difflib.unified_diff(fresh, updated, "new install",
                                         "0.1 updated", lineterm="", n=0))
        assert not diff, "\n".join(diff)
