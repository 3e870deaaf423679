"""The C core keeps no stray references: arguments, results, exceptions and
tick values are released as they are by an undecorated call."""
import asyncio
import sys
import uuid

from dolon import _core, profiler


class Token:
    pass


def test_sync_calls_release_arguments_results_and_exceptions():
    arg, result = Token(), Token()

    @profiler.profiler
    def f(x, key=None):
        return result

    @profiler.profiler
    def fails(x):
        raise ValueError(x)

    before = (sys.getrefcount(arg), sys.getrefcount(result))
    for _ in range(1000):
        assert f(arg, key=arg) is result
        try:
            fails(arg)
        except ValueError:
            pass
    assert (sys.getrefcount(arg), sys.getrefcount(result)) == before


def test_async_calls_release_arguments_and_results():
    arg, result = Token(), Token()

    @profiler.profiler
    async def f(x):
        await asyncio.sleep(0)
        return result

    async def main():
        for _ in range(500):
            assert await f(arg) is result
        coro = f(arg)           # never awaited: dropped whole
        coro.close()

    before = (sys.getrefcount(arg), sys.getrefcount(result))
    asyncio.run(main())
    assert (sys.getrefcount(arg), sys.getrefcount(result)) == before


def test_generators_release_arguments_and_items():
    arg, item = Token(), Token()

    @profiler.profiler
    def gen(x):
        yield item
        yield item

    @profiler.profiler
    async def agen(x):
        yield item
        await asyncio.sleep(0)
        yield item

    async def main():
        for _ in range(300):
            assert [i async for i in agen(arg)] == [item, item]
            half = agen(arg)
            assert await half.__anext__() is item
            await half.aclose()

    before = (sys.getrefcount(arg), sys.getrefcount(item))
    for _ in range(300):
        assert list(gen(arg)) == [item, item]
        half = gen(arg)
        next(half)
        half.close()
    asyncio.run(main())
    del half
    assert (sys.getrefcount(arg), sys.getrefcount(item)) == before


def test_methods_release_self():
    class C:
        @profiler.profiler
        def m(self):
            return None

    c = C()
    before = sys.getrefcount(c)
    for _ in range(1000):
        c.m()
        C.m(c)
        bound = c.m
        bound()
        del bound
    assert sys.getrefcount(c) == before


def test_sender_ticks_release_values():
    value = 12345.678          # a float object we can count
    values = [value, None]
    sender = _core.Sender("127.0.0.1", 9, uuid.uuid4().bytes, "x", "t", "h",
                          "p", "3", 1, 1, 0, _core.BuiltinReader())
    sender.add_external("a")
    sender.add_external("b")
    before = sys.getrefcount(value)
    for i in range(2000):
        sender.tick(1_700_000_000_000_000 + i * 1000, values)
    sender.end(1_700_000_010_000_000)
    sender.close()
    assert sys.getrefcount(value) == before
