"""What stack and allocation sampling cost a CPU-bound program, and how
accurate they are.

Overhead.  Four pure-Python workloads (workloads.py: richards, nbody, a JSON
round trip, dicts and lists) run under a dolon.Tracer ticking once a second,
in five ways, alternated within each round and rotated from round to round:

  floor       the tracer alone (no sampling): the reference of each round
  stacks 100  stack_hz=100
  stacks 10   stack_hz=10
  allocs      allocations=512 KiB (no stacks)
  tracemalloc the tracer alone and tracemalloc.start(), the peer

Each measurement is the process's CPU time (every thread: the sampler's own
thread included) for a fixed amount of work of about 0.3 s.  Two figures
per configuration: the median over the rounds of its ratio to the floor of
the same round, and the ratio of the two minima over all rounds (noise on
a shared machine only ever adds time, so the minima are the steadier
figure when others load the machine).  And the sampler's own CPU, which it
counts exactly (its thread's CPU clock, and the time spent in the
allocation hooks' sampling path), as a share of the workload's CPU: what
the ratios add beyond it is the program's side (handing over the GIL, the
allocation hooks' common path).  Targets: stacks at 100 Hz add at most
0.5 % CPU; allocation sampling at 512 KiB at most 1.10x.

Instructions.  Where valgrind is installed, the allocation hooks are also
measured by the instructions each workload executes (callgrind): a count
that other programs on the machine cannot disturb, against the same
floor, with tracemalloc's beside it.  It leaves out what instructions do
not show (cache misses, mispredicted indirect calls) and the kernel, so
the stack sampler's cost, made of GIL handovers, is only in the CPU
figures above.

Accuracy.  The lateness of samples against their schedule (p50, p99), busy
and idle; the CPU split of a program that spends about 70 % in one function
and 30 % in another (calibrated, measured by the program itself) against
the shares the samples give; and what a 10-thread program sends per second.

    python3 bench/bench_sampler.py [--rounds N] [--quick] [--no-valgrind]
"""
import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
sys.path.insert(0, HERE)
import profiles  # noqa: E402
import workloads  # noqa: E402
from dolon import Tracer, _core  # noqa: E402

TARGET_S = 0.2
CONFIGS = [
    ("floor", {}),
    ("stacks 100 Hz", {"stack_hz": 100}),
    ("stacks 10 Hz", {"stack_hz": 10}),
    ("allocs 512 KiB", {"allocations": 512 * 1024}),
    ("tracemalloc", {"tracemalloc": True}),
]


def sink():
    """A bound socket nobody reads: sends stop in the kernel."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def calibrate(func):
    """A size of func that takes about TARGET_S of CPU."""
    size = 1
    while True:
        t0 = time.process_time()
        func(size)
        spent = time.process_time() - t0
        if spent > TARGET_S / 8:
            return max(1, int(size * TARGET_S / spent))
        size *= 4


def measure(func, size, port, config):
    """CPU seconds of func(size) under config, and the sampler's own."""
    options = dict(config)
    use_tracemalloc = options.pop("tracemalloc", False)
    with Tracer("bench", 1.0, "127.0.0.1", port, **options) as tracer:
        if use_tracemalloc:
            tracemalloc.start()
        try:
            profiling = tracer.run.profiling
            own = profiling.sampler.cpu_ns if profiling else 0
            t0 = time.process_time()
            func(size)
            spent = time.process_time() - t0
            own = (profiling.sampler.cpu_ns - own) / 1e9 if profiling else 0
            return spent, own
        finally:
            if use_tracemalloc:
                tracemalloc.stop()


def overhead(rounds, port, sizes):
    print("overhead: process CPU (all threads) for the same work; per "
          "configuration the median")
    print("of %d per-round ratios to the floor / the ratio of the minima / "
          "the sampler's own CPU" % rounds)
    names = [n for n, _ in CONFIGS]
    print("  %-9s %7s" % ("workload", "floor") +
          "".join(" %23s" % n for n in names[1:]))
    medians = {n: [] for n in names[1:]}
    minima = {n: [] for n in names[1:]}
    for wname, func in workloads.WORKLOADS.items():
        size = sizes[wname] = calibrate(func)
        spent = {n: [] for n in names}
        own = {n: [] for n in names}
        for r in range(rounds):
            order = CONFIGS[r % len(CONFIGS):] + CONFIGS[:r % len(CONFIGS)]
            for n, c in order:
                cpu, mine = measure(func, size, port, c)
                spent[n].append(cpu)
                own[n].append(mine)
        line = "  %-9s %6.3fs" % (wname, min(spent["floor"]))
        for n in names[1:]:
            ratio = statistics.median(
                a / b for a, b in zip(spent[n], spent["floor"]))
            least = min(spent[n]) / min(spent["floor"])
            mine = statistics.median(
                o / c for o, c in zip(own[n], spent[n]))
            medians[n].append(ratio)
            minima[n].append(least)
            line += " %6.3fx/%6.3fx/%5.2f%%" % (ratio, least, 100 * mine)
        print(line)
    line = "  %-9s %7s" % ("geomean", "")
    for n in names[1:]:
        line += " %6.3fx/%6.3fx %6s" % (
            statistics.geometric_mean(medians[n]),
            statistics.geometric_mean(minima[n]), "")
    print(line)
    print("  targets: stacks 100 Hz <= 1.005x; allocs 512 KiB <= 1.10x "
          "(sampled tracemalloc 1.23x, memray 1.45x elsewhere)")


# -- instructions ---------------------------------------------------------

def _instructions(workload, config, size):
    """Instructions of one run under callgrind (start-up included)."""
    code = ("import socket, sys, tracemalloc; sys.path[:0] = %r\n"
            "import workloads; from dolon import Tracer\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.bind(('127.0.0.1', 0))\n"
            "with Tracer('cg', 60.0, '127.0.0.1', s.getsockname()[1], %s):\n"
            "    %s\n"
            "    workloads.WORKLOADS[%r](%d)\n"
            % ([os.path.dirname(HERE), HERE],
               "allocations=512 * 1024" if config == "allocs" else "",
               "tracemalloc.start()" if config == "tracemalloc" else "pass",
               workload, size))
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", code], capture_output=True, text=True,
        timeout=1800)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if not found:
        raise RuntimeError(out.stderr[-2000:])
    return int(found.group(1))


def instructions(sizes):
    print("allocation hooks by instructions executed (callgrind; start-up "
          "subtracted), ratio to the floor:")
    print("  %-9s %14s %16s %16s" % ("workload", "floor", "allocs 512 KiB",
                                     "tracemalloc"))
    ratios = {"allocs": [], "tracemalloc": []}
    for wname, size in sizes.items():
        start = {c: _instructions(wname, c, 0) for c in ("floor", "allocs",
                                                         "tracemalloc")}
        work = {c: _instructions(wname, c, size) - start[c]
                for c in start}
        line = "  %-9s %14d" % (wname, work["floor"])
        for c in ("allocs", "tracemalloc"):
            ratios[c].append(work[c] / work["floor"])
            line += " %15.3fx" % ratios[c][-1]
        print(line)
    print("  %-9s %14s %15.3fx %15.3fx" % (
        "geomean", "", statistics.geometric_mean(ratios["allocs"]),
        statistics.geometric_mean(ratios["tracemalloc"])))


# -- accuracy ------------------------------------------------------------

def spin(n):
    x = 0
    for i in range(n):
        x += i
    return x


def burn_a(n):
    return spin(n)


def burn_b(n):
    return spin(n)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def wakeup_floor(count=300):
    """CPU of one wake-up of a Python thread sleeping 10 ms at a time, in
    µs: the cost of the plainest thing that runs 100 times a second."""
    out = []

    def loop():
        t0 = time.thread_time()
        for _ in range(count):
            time.sleep(0.01)
        out.append((time.thread_time() - t0) / count * 1e6)

    t = threading.Thread(target=loop)
    t.start()
    t.join()
    return out[0]


def lateness(seconds):
    s = sink()
    out = {}
    per_pass = {}
    for what in ("busy", "idle"):
        with Tracer("late", 1.0, "127.0.0.1", s.getsockname()[1],
                    stack_hz=100) as tracer:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if what == "busy":
                    spin(10000)
                else:
                    time.sleep(0.05)
            sampler = tracer.run.profiling.sampler
            late = sampler.lateness_us()
            counters = sampler.counters
            per_pass[what] = counters["thread_cpu_ns"] / 1e3 / max(
                1, counters["passes"])
        out[what] = late
    s.close()
    floor = wakeup_floor()
    print("the sampler's own CPU at 100 Hz, per pass: %.1f us beside a busy "
          "thread, %.1f us beside an idle one;" % (per_pass["busy"],
                                                  per_pass["idle"]))
    print("  floor: a Python thread looping on time.sleep(0.01) costs %.1f us "
          "a wake-up here (ratios %.2fx, %.2fx)"
          % (floor, per_pass["busy"] / floor, per_pass["idle"] / floor))
    print("lateness of samples against their schedule at 100 Hz (us):")
    for what, late in out.items():
        print("  %-4s program: p50 %6d  p99 %6d  (%d passes)"
              % (what, percentile(late, 50), percentile(late, 99), len(late)))
    if sys.version_info < (3, 13):
        print("  (the sampler asks the GIL's holder to let go at its next "
              "check; a late sample is weighted by the real interval)")
    else:
        print("  (a busy thread lets go of the GIL at its switch interval, "
              "%.0f ms: a sample is weighted by the real interval, not lost)"
              % (sys.getswitchinterval() * 1000))


def split(seconds):
    receiver = sink()
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    t0 = time.thread_time()
    spin(300000)
    per_ms = 300000 / ((time.thread_time() - t0) * 1000)
    spent = {"burn_a": 0.0, "burn_b": 0.0}
    rnd = random.Random(11)
    with Tracer("split", 1.0, "127.0.0.1", receiver.getsockname()[1],
                stack_hz=100):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for f, ms in ((burn_a, 0.7), (burn_b, 0.3)):
                n = int(per_ms * ms * rnd.uniform(0.5, 1.5))
                t0 = time.thread_time()
                f(n)
                spent[f.__name__] += time.thread_time() - t0
    runs = profiles.receive_until(receiver, profiles.all_ended(1))
    receiver.close()
    (run,) = [r for r in runs.values() if r.ended]
    main = run.thread_named("MainThread")
    shares = profiles.function_shares(run, ["burn_a", "burn_b"],
                                      run.samples_of(main))
    total = sum(spent.values())
    print("known split, %.0f s at 100 Hz (%d samples of the main thread):"
          % (seconds, len(run.samples_of(main))))
    for f in ("burn_a", "burn_b"):
        print("  %s: true %5.1f %%  sampled %5.1f %%  (%+.1f points)"
              % (f, 100 * spent[f] / total, 100 * shares[f],
                 100 * (shares[f] - spent[f] / total)))


def ten_threads(seconds):
    receiver = sink()
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23)
    stop = threading.Event()

    def worker(depth):
        if depth:
            return worker(depth - 1)
        while not stop.is_set():
            spin(2000)
            stop.wait(0.001)

    threads = [threading.Thread(target=worker, args=(i % 5 + 3,),
                                name="worker-%d" % i) for i in range(9)]
    with Tracer("ten", 1.0, "127.0.0.1", receiver.getsockname()[1],
                stack_hz=100) as tracer:
        for t in threads:
            t.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            spin(5000)
        stop.set()
        for t in threads:
            t.join()
        counters = tracer.run.profiling.sampler.counters
    runs = profiles.receive_until(receiver, profiles.all_ended(1))
    receiver.close()
    (run,) = [r for r in runs.values() if r.ended]
    print("a 10-thread program at 100 Hz, %.0f s: %d samples, %d stacks, "
          "%d frames" % (seconds, len(run.samples), len(run.stacks),
                         len(run.frames)))
    print("  profile datagrams %.1f/s, %.0f bytes/s (largest %d bytes); "
          "sampler CPU %.2f %% of a core"
          % (counters["datagrams"] / seconds, counters["bytes"] / seconds,
             max(run.sizes), 100.0 * counters["thread_cpu_ns"] / 1e9 / seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds and short accuracy runs")
    parser.add_argument("--no-valgrind", action="store_true",
                        help="skip the instruction counts")
    args = parser.parse_args()
    if _core.SAMPLING_UNAVAILABLE is not None:
        print("stack sampling unavailable:", _core.SAMPLING_UNAVAILABLE)
        return
    rounds = 3 if args.quick else args.rounds
    print("(load average %.1f on %d processors: a busy machine makes the CPU "
          "figures noisy)" % (os.getloadavg()[0], os.cpu_count()))
    s = sink()
    sizes = {}
    overhead(rounds, s.getsockname()[1], sizes)
    s.close()
    if not args.no_valgrind and shutil.which("valgrind"):
        # a tenth of the CPU runs' work: callgrind runs some 50x slower
        instructions({w: max(1, n // 10) for w, n in sizes.items()})
    lateness(1.0 if args.quick else 3.0)
    split(2.0 if args.quick else 6.0)
    ten_threads(1.0 if args.quick else 3.0)


if __name__ == "__main__":
    main()
