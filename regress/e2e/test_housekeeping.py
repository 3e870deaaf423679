"""The inserter's housekeeping: small blocks left by slow metrics are merged
by the worker itself, without anyone calling mnemic.compact_blocks()."""
from conftest import legacy_row, new_run, stored_samples, wait_until


def block_count(cluster, run):
    return cluster.query(
        "SELECT count(*) FROM mnemic.block b JOIN mnemic.metric m"
        " ON m.id = b.metric_id JOIN mnemic.run r ON r.id = m.run_id"
        " WHERE r.uuid = %s", (str(run),))[0][0]


def test_worker_merges_small_blocks_of_old_data(cluster):
    # First make sure the inserter is connected and storing.
    probe = new_run()
    cluster.send_udp([legacy_row(probe, [1])])
    wait_until(lambda: stored_samples(cluster, probe), lambda n: n == 1)
    run = new_run()
    # One point per call: each import writes a block of its own, as a metric
    # sampled slower than the flush interval does.  An hour old, so past the
    # ten minutes compaction leaves alone.
    for i in range(5):
        cluster.query(
            "SELECT mnemic.import_series('slow', %s, 'm',"
            " ARRAY[now() - interval '1 hour' + %s * interval '1 s'],"
            " ARRAY[%s::float8])", (str(run), i, float(i)))
    assert block_count(cluster, run) == 5
    before = cluster.query(
        "SELECT ts, value FROM mnemic.samples WHERE run = %s ORDER BY ts",
        (str(run),))
    # A changed retention makes housekeeping run at once rather than within
    # the minute; a year keeps the run itself.
    cluster.reload(**{"pg_mnemic.retention": "365d"})
    wait_until(lambda: block_count(cluster, run), lambda n: n == 1)
    after = cluster.query(
        "SELECT ts, value FROM mnemic.samples WHERE run = %s ORDER BY ts",
        (str(run),))
    assert after == before and len(after) == 5


def test_retention_drops_runs_older_than_it_and_keeps_the_rest(cluster):
    # Imported history is as old as its points; a run fed now is new.
    old, new = new_run(), new_run()
    cluster.query(
        "SELECT mnemic.import_series('history', %s, 'm',"
        " ARRAY['2020-01-01 00:00:00+00', '2020-01-01 00:00:01+00']::timestamptz[],"
        " ARRAY[1, 2]::float8[])", (str(old),))
    cluster.send_udp([legacy_row(new, [1])])
    wait_until(lambda: stored_samples(cluster, new), lambda n: n == 1)
    cluster.reload(**{"pg_mnemic.retention": "30d"})
    wait_until(lambda: cluster.query(
        "SELECT count(*) FROM mnemic.run WHERE uuid = %s", (str(old),)),
        lambda r: r == [(0,)])
    assert stored_samples(cluster, new) == 1
    wait_until(lambda: cluster.log(),
               lambda log: "dropped 1 run" in log)
