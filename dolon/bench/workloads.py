"""Small CPU-bound pure-Python workloads of pyperformance's kind, for
bench_sampler.py: each is a function of a size that does that much work.

- richards: Martin Richards' operating-system simulation (tasks, packets,
  a scheduler; objects, attributes, method calls), after pyperformance's
  bm_richards.
- nbody: the planets of the Computer Language Benchmarks Game (floats).
- json: a JSON round trip of a nested document (the C codec's allocations).
- dicts: building, updating and sorting dicts and lists of small objects.
"""
import json

# -- richards -------------------------------------------------------------

I_IDLE, I_WORK, I_HANDLERA, I_HANDLERB, I_DEVA, I_DEVB = 1, 2, 3, 4, 5, 6
K_DEV, K_WORK = 1000, 1001
BUFSIZE = 4


class Packet:
    def __init__(self, link, ident, kind):
        self.link = link
        self.ident = ident
        self.kind = kind
        self.datum = 0
        self.data = [0] * BUFSIZE

    def append_to(self, lst):
        self.link = None
        if lst is None:
            return self
        p = lst
        while p.link is not None:
            p = p.link
        p.link = self
        return lst


class TaskState:
    def __init__(self, pending, waiting):
        self.packet_pending = pending
        self.task_waiting = waiting
        self.task_holding = False

    def waiting_with_packet(self):
        return self.packet_pending and self.task_waiting and not self.task_holding

    def is_runnable(self):
        return not self.task_holding and (self.packet_pending or
                                          not self.task_waiting)


class Task(TaskState):
    def __init__(self, sched, ident, priority, inbox, rec, pending, waiting):
        super().__init__(pending, waiting)
        self.sched = sched
        self.link = sched.tasks
        self.ident = ident
        self.priority = priority
        self.input = inbox
        self.rec = rec
        sched.tasks = self
        sched.table[ident] = self

    def add_packet(self, p, old):
        if self.input is None:
            self.input = p
            self.packet_pending = True
            if self.priority > old.priority:
                return self
        else:
            p.append_to(self.input)
        return old

    def run_task(self):
        if self.waiting_with_packet():
            msg = self.input
            self.input = msg.link
            self.packet_pending = self.input is not None
            self.task_waiting = False
            self.task_holding = False
        else:
            msg = None
        return self.fn(msg, self.rec)

    def wait_task(self):
        self.task_waiting = True
        return self

    def hold(self):
        self.sched.hold_count += 1
        self.task_holding = True
        return self.link

    def release(self, ident):
        t = self.sched.table[ident]
        t.task_holding = False
        return t if t.priority > self.priority else self

    def qpkt(self, pkt):
        t = self.sched.table[pkt.ident]
        self.sched.qpkt_count += 1
        pkt.link = None
        pkt.ident = self.ident
        return t.add_packet(pkt, self)


class DeviceTask(Task):
    def fn(self, pkt, rec):
        if pkt is None:
            pkt = rec.pending
            if pkt is None:
                return self.wait_task()
            rec.pending = None
            return self.qpkt(pkt)
        rec.pending = pkt
        return self.hold()


class HandlerTask(Task):
    def fn(self, pkt, rec):
        if pkt is not None:
            if pkt.kind == K_WORK:
                rec.work_in = pkt.append_to(rec.work_in)
            else:
                rec.device_in = pkt.append_to(rec.device_in)
        work = rec.work_in
        if work is None:
            return self.wait_task()
        count = work.datum
        if count >= BUFSIZE:
            rec.work_in = work.link
            return self.qpkt(work)
        dev = rec.device_in
        if dev is None:
            return self.wait_task()
        rec.device_in = dev.link
        dev.datum = work.data[count]
        work.datum = count + 1
        return self.qpkt(dev)


class IdleTask(Task):
    def fn(self, pkt, rec):
        rec.count -= 1
        if rec.count == 0:
            return self.hold()
        if rec.control & 1 == 0:
            rec.control //= 2
            return self.release(I_DEVA)
        rec.control = rec.control // 2 ^ 0xD008
        return self.release(I_DEVB)


class WorkTask(Task):
    def fn(self, pkt, rec):
        if pkt is None:
            return self.wait_task()
        dest = I_HANDLERB if rec.destination == I_HANDLERA else I_HANDLERA
        rec.destination = dest
        pkt.ident = dest
        pkt.datum = 0
        for i in range(BUFSIZE):
            rec.count += 1
            if rec.count > 26:
                rec.count = 1
            pkt.data[i] = ord("A") + rec.count - 1
        return self.qpkt(pkt)


class Record:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class Scheduler:
    def __init__(self):
        self.tasks = None
        self.table = [None] * 10
        self.hold_count = 0
        self.qpkt_count = 0

    def schedule(self):
        t = self.tasks
        while t is not None:
            t = t.run_task() if t.is_runnable() else t.link


def richards(iterations):
    for _ in range(iterations):
        s = Scheduler()
        # (pending, waiting): running, waiting with a packet, waiting
        IdleTask(s, I_IDLE, 1, None, Record(control=1, count=10000),
                 False, False)
        wkq = Packet(None, 0, K_WORK)
        wkq = Packet(wkq, 0, K_WORK)
        WorkTask(s, I_WORK, 1000, wkq, Record(destination=I_HANDLERA, count=0),
                 True, True)
        wkq = Packet(None, I_DEVA, K_DEV)
        wkq = Packet(wkq, I_DEVA, K_DEV)
        wkq = Packet(wkq, I_DEVA, K_DEV)
        HandlerTask(s, I_HANDLERA, 2000, wkq,
                    Record(work_in=None, device_in=None), True, True)
        wkq = Packet(None, I_DEVB, K_DEV)
        wkq = Packet(wkq, I_DEVB, K_DEV)
        wkq = Packet(wkq, I_DEVB, K_DEV)
        HandlerTask(s, I_HANDLERB, 3000, wkq,
                    Record(work_in=None, device_in=None), True, True)
        DeviceTask(s, I_DEVA, 4000, None, Record(pending=None), False, True)
        DeviceTask(s, I_DEVB, 5000, None, Record(pending=None), False, True)
        s.schedule()
        assert s.hold_count == 9297 and s.qpkt_count == 23246


# -- nbody ----------------------------------------------------------------

PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24
BODIES = [
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),
    ([4.84143144246472090e+00, -1.16032004402742839e+00,
      -1.03622044471123109e-01],
     [1.66007664274403694e-03 * DAYS_PER_YEAR,
      7.69901118419740425e-03 * DAYS_PER_YEAR,
      -6.90460016972063023e-05 * DAYS_PER_YEAR],
     9.54791938424326609e-04 * SOLAR_MASS),
    ([8.34336671824457987e+00, 4.12479856412430479e+00,
      -4.03523417114321381e-01],
     [-2.76742510726862411e-03 * DAYS_PER_YEAR,
      4.99852801234917238e-03 * DAYS_PER_YEAR,
      2.30417297573763929e-05 * DAYS_PER_YEAR],
     2.85885980666130812e-04 * SOLAR_MASS),
    ([1.28943695621391310e+01, -1.51111514016986312e+01,
      -2.23307578892655734e-01],
     [2.96460137564761618e-03 * DAYS_PER_YEAR,
      2.37847173959480950e-03 * DAYS_PER_YEAR,
      -2.96589568540237556e-05 * DAYS_PER_YEAR],
     4.36624404335156298e-05 * SOLAR_MASS),
    ([1.53796971148509165e+01, -2.59193146099879641e+01,
      1.79258772950371181e-01],
     [2.68067772490389322e-03 * DAYS_PER_YEAR,
      1.62824170038242295e-03 * DAYS_PER_YEAR,
      -9.51592254519715870e-05 * DAYS_PER_YEAR],
     5.15138902046611451e-05 * SOLAR_MASS)]


def nbody(steps):
    bodies = [([*p], [*v], m) for p, v, m in BODIES]
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies))
             for j in range(i + 1, len(bodies))]
    dt = 0.01
    for _ in range(steps):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m, b2m = m1 * mag, m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


# -- json -------------------------------------------------------------------

DOC = {
    "id": 12345, "name": "catalogue", "tags": ["a", "b", "ç", "🙂"],
    "items": [{"sku": "X-%d" % i, "price": i * 1.25, "qty": i % 7,
               "ok": i % 3 == 0, "note": None,
               "dims": {"w": i, "h": i * 2, "d": [1, 2, 3]}}
              for i in range(60)],
}


def json_roundtrip(iterations):
    for _ in range(iterations):
        text = json.dumps(DOC)
        assert json.loads(text)["id"] == 12345


# -- dicts and lists ------------------------------------------------------

def dicts(iterations):
    for n in range(iterations):
        index = {}
        for i in range(400):
            key = "k%d" % (i % 97)
            index.setdefault(key, []).append((i, n))
        rows = sorted(((len(v), k) for k, v in index.items()), reverse=True)
        merged = {k: sum(a for a, _ in v) for k, v in index.items()}
        assert rows and len(merged) == 97


WORKLOADS = {"richards": richards, "nbody": nbody, "json": json_roundtrip,
             "dicts": dicts}
