"""The SQL surface without shared_preload_libraries: a DBA who forgot to
preload still gets a working CREATE EXTENSION, imports and reads; only the
listener (and its counters) are absent."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from pgtemp import TempCluster  # noqa: E402


def test_create_extension_and_read_without_preloading():
    with TempCluster(settings={"shared_preload_libraries": "''"}) as c:
        assert c.query("SHOW shared_preload_libraries") == [("",)]
        n = c.query("""SELECT mnemic.import_series('np', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                         'm', ARRAY['2026-01-01 00:00:00+00', '2026-01-01 00:00:01+00']::timestamptz[],
                         ARRAY[1.5, 2.5])""")[0][0]
        assert n == 2
        rows = c.query("SELECT metric, value FROM mnemic.samples ORDER BY ts")
        assert rows == [("m", 1.5), ("m", 2.5)]
        # The session that loaded the library is still alive and usable.
        assert c.query("SELECT count(*) FROM mnemic.series("
                       "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'm')")[0][0] >= 2
