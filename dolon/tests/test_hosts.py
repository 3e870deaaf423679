"""A host list: each run goes to one host, chosen from its uuid, and stays
there (docs/sql.md, "Beyond one machine")."""
import asyncio
import uuid
import warnings

import pytest

import v1decode
from conftest import UdpReceiver, wait_until
from dolon import Tracer, config, profiling, trace_client


def test_host_list_entries():
    assert config.host_list("db1") == [("db1", None)]
    assert config.host_list("db1, db2:12014,[::1]:7,[fe80::1],::1") == [
        ("db1", None), ("db2", 12014), ("::1", 7), ("fe80::1", None),
        ("::1", None)]
    for bad in ("db1,,db2", "db1:", "db1:http", "[::1]x", ","):
        with pytest.raises(ValueError):
            config.host_list(bad)


def test_the_rule_is_the_first_8_bytes_of_the_uuid_modulo_the_hosts():
    hosts = "a,b:2,c"
    for _ in range(200):
        run = uuid.uuid4()
        index = int.from_bytes(run.bytes[:8], "big") % 3
        assert config.host_for_run(hosts, 9, run) == \
            [("a", 9), ("b", 2), ("c", 9)][index]
    run = uuid.UUID("00000000-0000-0005-ffff-ffffffffffff")
    assert config.host_for_run(hosts, 9, run) == ("c", 9)      # 5 % 3
    # one host: every run goes there, as before lists existed
    assert config.host_for_run("db1", 12013, uuid.uuid4()) == ("db1", 12013)


def run_of(datagrams):
    return {str(v1decode.decode(d)["run"]) for d in datagrams}


def host_of(tracer):
    """Which of two hosts the tracer's run goes to (config.host_for_run)."""
    return int.from_bytes(tracer.run.uuid.bytes[:8], "big") % 2


def test_runs_spread_over_the_hosts_and_each_stays_on_its_own():
    receivers = [UdpReceiver(), UdpReceiver()]
    hosts = ",".join("127.0.0.1:%d" % r.port for r in receivers)
    try:
        tracers = []
        # start tracers until each host has a run: the uuid decides
        while {host_of(t) for t in tracers} != {0, 1}:
            assert len(tracers) < 64, "64 runs and still a host without one"
            tracers.append(Tracer("spread", 0.02, hosts, None).start())
        wait_until(lambda: all(t.run and t.run.sender.counters["ticks"] >= 2
                               for t in tracers))
        for t in tracers:
            t.stop()
        got = [run_of(r.drain()) for r in receivers]
        for t in tracers:
            want = host_of(t)
            assert str(t.run.uuid) in got[want]
            assert str(t.run.uuid) not in got[1 - want]
        assert got[0] and got[1]
    finally:
        for r in receivers:
            r.close()


def test_dolon_host_may_be_a_list(monkeypatch):
    receivers = [UdpReceiver(), UdpReceiver()]
    monkeypatch.setenv("DOLON_HOST", ",".join(
        "127.0.0.1:%d" % r.port for r in receivers))
    try:
        async def main():
            task = asyncio.ensure_future(
                trace_client.start_tracer("env-list", 0.02, None, None))

            def ticked():
                run = profiling.current_run()
                return (run is not None and run.tracer_name == "env-list"
                        and run.sender.counters["ticks"] >= 2)

            deadline = asyncio.get_running_loop().time() + 10
            while not ticked() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            assert ticked()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        got = [run_of(r.drain()) for r in receivers]
        assert sorted(len(g) for g in got) == [0, 1]
    finally:
        for r in receivers:
            r.close()


def test_a_bad_list_is_an_error_as_an_argument_and_a_warning_from_the_environment(
        monkeypatch):
    with pytest.raises(ValueError, match="empty entry"):
        Tracer("bad", 1.0, "db1,,db2", 12013).start()
    monkeypatch.setenv("DOLON_HOST", "db1,db2:port")
    config._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracer = Tracer("bad-env", 1.0).start()
    assert tracer.run is None
    assert any("DOLON_HOST port" in str(w.message) for w in caught)
