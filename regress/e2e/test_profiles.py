"""Profiles over the socket: a sampled program's stacks, sent as a client
sends them, come back from mnemic.flamegraph() as the graph they add up to,
whatever order the datagrams arrive in and whichever of them were lost."""
import datetime

import pytest

from conftest import new_run, v1_datagram, wait_until, worker_pids
from profile_wire import Program, flame_of, graph_diff
from v1wire import stack_samples

UTC = datetime.timezone.utc
T0_US = 1_700_000_000_000_000      # 2023-11-14 22:13:20 UTC, long closed


def at(us):
    return datetime.datetime.fromtimestamp(us // 1_000_000, UTC) + \
        datetime.timedelta(microseconds=us % 1_000_000)


@pytest.fixture
def wired(cluster):
    try:
        wait_until(lambda: worker_pids(cluster),
                   lambda p: {"pg_mnemic inserter", "pg_mnemic receiver"}
                   <= set(p), timeout=10)
    except AssertionError:
        pytest.skip("the listener's workers are not running")
    return cluster


def send(cluster, run, messages, first_seq=0, skip=(), max_bytes=8000):
    """Pack messages into datagrams of at most max_bytes, numbered from
    first_seq; the datagrams whose number is in skip are 'lost'.  Returns
    the next sequence number."""
    seq = first_seq
    batch, size = [], 0
    out = []
    for m in messages + [None]:
        if m is None or (batch and size + len(m) > max_bytes):
            if seq not in skip:
                out.append(v1_datagram(run, seq, batch))
            seq += 1
            batch, size = [], 0
        if m is not None:
            batch.append(m)
            size += len(m)
    # Not all at once: the kernel's buffer is the only thing between us.
    for i in range(0, len(out), 50):
        cluster.send_udp(out[i:i + 50])
    return seq


def stack_samples_of(cluster, run):
    rows = cluster.query("SELECT stack_samples FROM mnemic.runs()"
                         " WHERE run = %s", (str(run),))
    return rows[0][0] if rows else 0


def test_samples_sent_before_their_stacks_take_them_when_they_arrive(wired):
    run = new_run()
    prog = Program(seed=1)
    prog.sample(T0_US, 100)
    # Samples first, then the definitions, as a client whose first
    # definitions datagram was lost and repeated later would send them.
    seq = send(wired, run, prog.sample_messages())
    wait_until(lambda: stack_samples_of(wired, run),
               lambda n: n == len(prog.samples))
    undefined = flame_of(wired, run, "samples")
    assert undefined[(("(stack not defined)", None, None),)][1] > 0
    send(wired, run, prog.definitions(), first_seq=seq)
    want = prog.flame("cpu")
    wait_until(lambda: graph_diff(flame_of(wired, run, "cpu"), want),
               lambda d: not d)
    for weight in ("wall", "samples"):
        assert not graph_diff(flame_of(wired, run, weight), prog.flame(weight))


def test_a_lost_definition_heals_when_the_client_repeats_it(wired):
    run = new_run()
    prog = Program(seed=2, nstacks=400)
    prog.sample(T0_US, 60)
    # One message a datagram: threads, frames, stacks, stacks.  The
    # frames and the second half of the stacks are lost; the client repeats
    # the definitions later (docs/protocol.md), and the graph is then whole.
    seq = send(wired, run, prog.definitions(), skip={1, 3}, max_bytes=1)
    seq = send(wired, run, prog.sample_messages(), first_seq=seq)
    wait_until(lambda: stack_samples_of(wired, run),
               lambda n: n == len(prog.samples))
    assert graph_diff(flame_of(wired, run, "wall"), prog.flame("wall"))
    send(wired, run, prog.definitions(), first_seq=seq)
    want = prog.flame("wall")
    wait_until(lambda: graph_diff(flame_of(wired, run, "wall"), want),
               lambda d: not d)
    lost = wired.query("SELECT lost FROM mnemic.runs() WHERE run = %s",
                       (str(run),))[0][0]
    assert lost == 2


def test_windows_threads_and_top_functions_agree_with_the_program(wired):
    run = new_run()
    prog = Program(seed=3, nthreads=12, nstacks=600)
    prog.sample(T0_US, 150)
    send(wired, run, prog.definitions() + prog.sample_messages())
    want = prog.flame("cpu")
    wait_until(lambda: graph_diff(flame_of(wired, run, "cpu"), want),
               lambda d: not d)
    t_from, t_to = T0_US + 333_000, T0_US + 1_010_000
    assert not graph_diff(flame_of(wired, run, "cpu", at(t_from), at(t_to)),
                      prog.flame("cpu", t_from, t_to))
    assert not graph_diff(flame_of(wired, run, "wall", thread="thread-5"),
                      prog.flame("wall", thread=5))
    # top_functions: self is the leaves' weight, total counts a function
    # once per sample even where it recurses.
    self_w, total_w = {}, {}
    for tid, ts, stack, w, cpu in prog.samples:
        path = prog.path[stack] if stack else (("(no Python frame)",
                                                None, None),)
        v = w / 1e6
        self_w[path[-1]] = self_w.get(path[-1], 0) + v
        for f in set(path):
            total_w[f] = total_w.get(f, 0) + v
    got = wired.query("SELECT function, file, line, self, total FROM"
                      " mnemic.top_functions(%s, weight => 'wall', n => 1000)",
                      (str(run),))
    assert len(got) == len(total_w)
    for function, file, line, s, t in got:
        key = (function, file, line)
        assert abs(s - self_w.get(key, 0)) < 1e-6, key
        assert abs(t - total_w[key]) < 1e-6, key
    # Ordered by self, most first.
    assert [r[3] for r in got] == sorted((r[3] for r in got), reverse=True)


def test_the_worker_sums_closed_windows_and_the_graph_stays_the_same(wired):
    run = new_run()
    prog = Program(seed=4)
    # Three minutes at 10 Hz: many 10 s and 1 min buckets of the rollups.
    prog.sample(T0_US, 1800, interval_us=100_000)
    send(wired, run, prog.definitions() + prog.sample_messages())
    want = prog.flame("cpu")
    wait_until(lambda: graph_diff(flame_of(wired, run, "cpu"), want),
               lambda d: not d)
    # A changed retention makes housekeeping run at once (as in
    # test_housekeeping.py); a year keeps the run.
    wired.reload(**{"pg_mnemic.retention": "365d"})
    wait_until(lambda: wired.query(
        "SELECT count(*) FROM mnemic.prof_rollup p JOIN mnemic.run r"
        " ON r.id = p.run_id WHERE r.uuid = %s", (str(run),))[0][0],
        lambda n: n > 0, timeout=30)
    assert not graph_diff(flame_of(wired, run, "cpu"), want)
    t_from, t_to = T0_US + 61_000_000, T0_US + 119_999_999
    assert not graph_diff(flame_of(wired, run, "cpu", at(t_from), at(t_to)),
                      prog.flame("cpu", t_from, t_to))


def test_malformed_samples_are_counted_and_spare_the_rest(wired):
    run = new_run()
    prog = Program(seed=5, nstacks=20)
    prog.sample(T0_US, 10)
    bad = stack_samples(T0_US, 0, [(0, 1, 10, 1, 0)])      # thread id 0
    before = wired.query("SELECT malformed FROM mnemic.listener_stats()")[0][0]
    send(wired, run, [bad])
    send(wired, run, prog.definitions() + prog.sample_messages(),
         first_seq=1)
    want = prog.flame("samples")
    wait_until(lambda: graph_diff(flame_of(wired, run, "samples"), want),
               lambda d: not d)
    after = wired.query("SELECT malformed FROM mnemic.listener_stats()")[0][0]
    assert after == before + 1
