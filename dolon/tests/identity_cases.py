"""A decorated callable is seen as what it wraps, by inspect, asyncio and the
frameworks that decide by them -- on every Python dolon supports.

Plain functions (no pytest), so that test_profiler.py runs them under pytest
and compat_smoke.py under each Python of `make check-compat`.
"""
import asyncio
import functools
import inspect

from dolon import profiler


# One source for every kind and form: `def` or `async def`, `return` or
# `yield`, as a function and in a class as a method, a staticmethod and a
# classmethod, with @decorate inside and outside @staticmethod/@classmethod.
SOURCE = """
@decorate
{prefix}def function(a, b=1, *args, c: int = 2, **kw) -> int:
    {body} a

class Holder:
    @decorate
    {prefix}def method(self, a, b=1, *args, c: int = 2, **kw) -> int:
        {body} a

    @staticmethod
    @decorate
    {prefix}def static_inside(a, b=1, *args, c: int = 2, **kw) -> int:
        {body} a

    @decorate
    @staticmethod
    {prefix}def static_outside(a, b=1, *args, c: int = 2, **kw) -> int:
        {body} a

    @classmethod
    @decorate
    {prefix}def class_inside(cls, a, b=1, *args, c: int = 2, **kw) -> int:
        {body} a

    @decorate
    @classmethod
    {prefix}def class_outside(cls, a, b=1, *args, c: int = 2, **kw) -> int:
        {body} a
"""

KINDS = {
    "function": ("", "return"),
    "coroutine function": ("async ", "return"),
    "generator function": ("", "yield"),
    "async generator function": ("async ", "yield"),
}


def forms(kind, decorate):
    """Every form of one kind, made with `decorate` (lambda f: f: none)."""
    prefix, body = KINDS[kind]
    namespace = {"decorate": decorate}
    exec(SOURCE.format(prefix=prefix, body=body), namespace)
    holder = namespace["Holder"]
    instance = holder()
    undecorated = {"decorate": lambda f: f}
    exec(SOURCE.format(prefix=prefix, body=body), undecorated)
    return {
        # a partial decorated (inspect looks through partials to the code)
        "partial": decorate(functools.partial(undecorated["function"], c=5)),
        "function": namespace["function"],
        "method via instance": instance.method,
        "method via class": holder.method,
        "staticmethod inside": holder.static_inside,
        "staticmethod outside": instance.static_outside,
        "classmethod inside": holder.class_inside,
        "classmethod outside": instance.class_outside,
    }


def starlette_is_async(obj):
    """How Starlette decides to await an endpoint (is_async_callable)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return asyncio.iscoroutinefunction(obj) or (
        callable(obj) and asyncio.iscoroutinefunction(obj.__call__))


def fastapi_is_coroutine(call):
    """How FastAPI decides to await a dependency (is_coroutine_callable)."""
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call)
    if inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(getattr(call, "__call__", None))


def what_inspect_sees(obj):
    return {
        "inspect.iscoroutinefunction": inspect.iscoroutinefunction(obj),
        "asyncio.iscoroutinefunction": asyncio.iscoroutinefunction(obj),
        "inspect.isgeneratorfunction": inspect.isgeneratorfunction(obj),
        "inspect.isasyncgenfunction": inspect.isasyncgenfunction(obj),
        "inspect.signature": str(inspect.signature(obj)),
        "inspect.isfunction/ismethod": (inspect.isfunction(obj),
                                        inspect.ismethod(obj)),
        "starlette awaits": starlette_is_async(obj),
        "fastapi awaits": fastapi_is_coroutine(obj),
    }


def check_decorated_look_like_undecorated():
    """Every kind, every form: the same answers with and without @profiler.
    Returns the number of comparisons made."""
    compared = 0
    for kind in KINDS:
        plain = forms(kind, lambda f: f)
        decorated = forms(kind, profiler.profiler)
        for form, obj in decorated.items():
            want, got = what_inspect_sees(plain[form]), what_inspect_sees(obj)
            fastapi = got["fastapi awaits"]
            if form == "partial":
                # FastAPI does not look through a plain partial; the wrapper
                # is a descriptor (to bind as a method), which FastAPI up to
                # 3.12 takes for a routine and asks inspect about (and then
                # awaits it exactly when it should), 3.13 not
                del want["fastapi awaits"], got["fastapi awaits"]
            assert got == want, (kind, form, got, want)
            compared += len(want)
            # the frameworks await exactly the coroutine functions
            assert got["starlette awaits"] == (
                kind == "coroutine function"), (kind, form, got)
            assert form == "partial" or fastapi == got["starlette awaits"], (
                kind, form, got)
    return compared


def check_decorated_calls_work():
    """Each kind called in each form returns what the undecorated does."""
    async def run_all():
        results = []
        for kind in KINDS:
            for form, obj in forms(kind, profiler.profiler).items():
                args = (None, 7) if form == "method via class" else (7,)
                hits = obj.stats.hits
                r = obj(*args, c=3)
                if inspect.isawaitable(r):
                    r = await r
                elif hasattr(r, "__aiter__"):
                    r = [x async for x in r]
                elif hasattr(r, "__next__"):
                    r = list(r)
                results.append((kind, form, r, obj.stats.hits - hits))
        return results

    for kind, form, r, hits in asyncio.run(run_all()):
        assert r in (7, [7]) and hits == 1, (kind, form, r, hits)


def main():
    n = check_decorated_look_like_undecorated()
    check_decorated_calls_work()
    return n


if __name__ == "__main__":
    print("identity ok,", main(), "comparisons")
