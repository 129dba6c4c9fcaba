"""A durable run that kills its own process where it is told to (tests/local/test_crashes.py).

Run as ``python crash_worker.py DRIVER STORE RUN_ID [WORKFLOW]``: it runs (or resumes)
run RUN_ID of a workflow (``mix``, the default: :class:`Mix`; ``patient`` and
``impatient`` for timeouts) in the run store STORE and prints ``{"result": ...,
"counts": {...}}`` as JSON, unless it was told to die first.  ``CRASH_DIR`` names a
directory for two append-only files: ``log`` gets one line per activity execution
(``[name, args, pid]``, and the time for the timeout workflows, written when the
activity starts) and ``faults`` one line per fault injected, just before the process
kills itself with SIGKILL.

``CRASH_FAULT`` (JSON) says where to die; ``{"point": P, "at": K, ...}`` means at the
K-th occurrence, in this process, of point P:

``activity``        inside an activity, at its start or (``"end": true``) once it has
                    computed its result but before it returns it;
``child-activity``  the same, counting only the activities of the child workflow;
``begin``           when a transaction begins (``BEGIN``, or a write statement outside
                    one, which SQLite commits on its own): a decision was made,
                    nothing of it is written yet;
``vm``              inside the K-th transaction, after about ``steps`` SQLite virtual
                    machine instructions (a progress handler);
``write``           at the K-th write SQLite makes to any of its files (the database,
                    its WAL), through a VFS shim registered as SQLite's default: the
                    write is cut to its first ``torn`` bytes, then the process dies;
``commit``          right after a transaction committed (its ``COMMIT``, or its one
                    statement), before the calls it records start;
``restart-before``, ``restart-after``  just before or just after the commit of a
                    transaction that records a restart (a run with a predecessor);
``child-before``, ``child-after``      the same for a transaction that creates a
                    child run.

The store's connection is wrapped (``sqlite3.connect`` is replaced in this process
only), so the hooks see every transaction whatever part of the store makes it.
"""

import ctypes
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow, restart

FAULT = json.loads(os.environ.get('CRASH_FAULT') or 'null')
N = int(os.environ.get('CRASH_N', '4'))  # the root fans out this many squares per round

COUNTS = {'activity': 0, 'child-activity': 0, 'begin': 0, 'commit': 0, 'write': 0,
          'restart': 0, 'child': 0}
_lock = threading.Lock()


def _append(name, entry):
    # One write of one short line to a file opened for appending: lines never mix.
    path = os.path.join(os.environ.get('CRASH_DIR', '.'), name)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(entry) + '\n').encode())
    finally:
        os.close(fd)


def die(point, count, **details):
    """Record the fault, then kill this process at once, as a crash would."""
    _append('faults', dict(details, point=point, at=count, pid=os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


def _occurs(point):
    """Count one occurrence of ``point``; True if the fault is set for this one."""
    with _lock:
        COUNTS[point] += 1
        count = COUNTS[point]
    return _fault_at(point, count)


def _fault_at(point, count):
    return FAULT is not None and FAULT['point'] == point and FAULT['at'] == count


# -- the workflow -------------------------------------------------------------------------

def _activity(name, args, child=False):
    _append('log', [name, list(args), os.getpid()])
    kinds = ['activity'] + (['child-activity'] if child else [])
    chosen = [kind for kind in kinds if _occurs(kind)]
    if chosen and not FAULT.get('end'):
        die(chosen[0], FAULT['at'], end=False)
    return chosen


def _returning(chosen, value):
    if chosen:
        die(chosen[0], FAULT['at'], end=True)
    return value


def square(x, r):
    return _returning(_activity('square', (x, r)), x * x + r)


def add(a, b, r, i):
    return _returning(_activity('add', (a, b, r, i)), a + b)


def inc(n, r, step, i):
    return _returning(_activity('inc', (n, r, step, i), child=True), n + r + step + i)


def twice(a, b, r, step):
    return _returning(_activity('twice', (a, b, r, step), child=True), 2 * (a + b))


class Child:
    """A fan-out of two, their sum doubled; then a restart, once."""

    def __init__(self, inc, twice):
        self.inc, self.twice = inc, twice

    def __call__(self, n, r, step=0, carry=0):
        a, b = (self.inc(n, r, step, i) for i in range(2))
        total = self.twice(a, b, r, step)
        if step == 0:
            return restart(n, r, 1, total)
        return total + carry


class Mix:
    """A fan-out, a dependent chain over it, a child workflow beside it; a restart, once."""

    def __init__(self, square, add, child):
        self.square, self.add, self.child = square, add, child

    def __call__(self, n, r=0, carry=0):
        squares = [self.square(i, r) for i in range(n)]
        kid = self.child(n, r)
        acc = carry
        for i, value in enumerate(squares):
            acc = self.add(acc, value, r, i)
        total = self.add(acc, kid, r, -1)
        if r == 0:
            return restart(n, 1, total)
        return total


def expected(n=N):
    """The result of an undisturbed run, computed without any engine."""
    def child(r):
        first = 2 * sum(n + r + i for i in range(2))
        return first + 2 * sum(n + r + 1 + i for i in range(2))
    total = 0
    for r in range(2):
        total = total + sum(i * i + r for i in range(n)) + child(r)
    return total


# -- timeouts: a retry waiting for its delay, a child workflow's timeout ---------------------

RETRY_DELAY = 1.5  # seconds between the timed-out attempt of ``stuck`` and its retry
CHILD_TIMEOUT = 2.0  # seconds the child of ``Impatient`` may run


def _until_told():
    """Wait (bounded) until :func:`flowy.heartbeat` says the result is not wanted."""
    idle = threading.Event()
    for _ in range(3000):  # 30 s at most
        if flowy.heartbeat():
            return 'late'
        idle.wait(0.01)
    return 'never told'


def stuck(x):
    """Its first execution (in this directory) hangs until it is timed out."""
    _append('log', ['stuck', [x], os.getpid(), time.time()])
    marker = os.path.join(os.environ.get('CRASH_DIR', '.'), 'stuck-once')
    if not os.path.exists(marker):
        open(marker, 'w').close()
        return _until_told()
    return x + 1


def sleepy(x):
    """Runs until its child workflow has ended (timed out)."""
    _append('log', ['sleepy', [x], os.getpid(), time.time()])
    return _until_told()


class Patient:
    def __init__(self, stuck):
        self.stuck = stuck

    def __call__(self, x):
        return self.stuck(x)


class Sleeper:
    def __init__(self, sleepy):
        self.sleepy = sleepy

    def __call__(self, x):
        return self.sleepy(x)


class Impatient:
    def __init__(self, child):
        self.child = child

    def __call__(self, x):
        try:
            return flowy.wait(self.child(x))
        except flowy.TaskTimedout:
            return 'late'


def patient(driver, store):
    w = LocalWorkflow(Patient, executor=ThreadPoolExecutor, driver=driver, store=store)
    w.conf_activity('stuck', stuck, timeout=0.2, retry=(0, RETRY_DELAY))
    return w


def impatient(driver, store):
    kid = LocalWorkflow(Sleeper, executor=ThreadPoolExecutor, driver=driver)
    kid.conf_activity('sleepy', sleepy)
    w = LocalWorkflow(Impatient, executor=ThreadPoolExecutor, driver=driver, store=store)
    w.conf_workflow('child', kid, timeout=CHILD_TIMEOUT)
    return w


def workflow(driver, store):
    kid = LocalWorkflow(Child, executor=ThreadPoolExecutor, driver=driver)
    kid.conf_activity('inc', inc)
    kid.conf_activity('twice', twice)
    w = LocalWorkflow(Mix, activity_workers=3, executor=ThreadPoolExecutor, driver=driver,
                      store=store)
    w.conf_activity('square', square)
    w.conf_activity('add', add)
    w.conf_workflow('child', kid)
    return w


# -- hooks in the store's connection --------------------------------------------------------

# Counted among the runs of this process's run id (another process may use the store).
_OURS = "(id = :run OR id LIKE :run || '+%' OR id LIKE :run || '/%')"
_RESTARTS = 'SELECT count(*) FROM runs WHERE predecessor IS NOT NULL AND ' + _OURS
_CHILDREN = ('SELECT count(*) FROM runs WHERE parent IS NOT NULL AND predecessor IS NULL '
             'AND ' + _OURS)
RUN_ID = ['job']  # set by main()
_WRITES = ('INSERT', 'UPDATE', 'DELETE', 'REPLAC')


class Connection:
    """An sqlite3 connection that reports its transactions' begins and commits."""

    def __init__(self, con):
        self._con = con
        self._known = None  # (restarts, children) recorded before this transaction

    def __getattr__(self, name):
        return getattr(self._con, name)

    def _counts(self):
        return tuple(self._con.execute(sql, {'run': RUN_ID[0]}).fetchone()[0]
                     for sql in (_RESTARTS, _CHILDREN))

    def _begin(self):
        if _occurs('begin'):
            die('begin', FAULT['at'])
        transaction = COUNTS['begin']
        if _fault_at('vm', transaction):
            def handler():
                die('vm', transaction, steps=FAULT['steps'])
            self._con.set_progress_handler(handler, FAULT['steps'])

    def _commit(self):
        if self._known is None:
            self._known = (0, 0)
        restarts, children = self._counts()  # this transaction's own writes included
        events = []
        if restarts > self._known[0]:
            events.append('restart')
        if children > self._known[1]:
            events.append('child')
        firing = []
        for event in events:
            _occurs(event)
            if _fault_at(event + '-before', COUNTS[event]):
                die(FAULT['point'], FAULT['at'])
            if _fault_at(event + '-after', COUNTS[event]):
                firing.append(event)
        self._con.execute('COMMIT')
        self._known = (restarts, children)
        self._committed()
        if firing:
            die(FAULT['point'], FAULT['at'])

    def _committed(self):
        self._con.set_progress_handler(None, 0)
        if _occurs('commit'):
            die('commit', FAULT['at'])

    def _learn(self):
        if self._known is None:
            try:
                self._known = self._counts()
            except sqlite3.OperationalError:
                pass  # a new file: the store creates its tables in this transaction

    def execute(self, sql, *args):
        statement = sql.lstrip()[:6].upper()
        if statement == 'BEGIN ':
            self._learn()
            self._begin()
        elif statement == 'COMMIT':
            self._commit()
            return self._con.cursor()
        elif statement == 'ROLLBA':
            self._con.set_progress_handler(None, 0)
        elif statement in _WRITES and not self._con.in_transaction:
            # A write outside BEGIN ... COMMIT is a transaction of its own (autocommit).
            self._learn()
            self._begin()
            cursor = self._con.execute(sql, *args)
            self._committed()
            return cursor
        return self._con.execute(sql, *args)

    def commit(self):  # the store commits with COMMIT statements; this is for safety
        return self.execute('COMMIT') if self._con.in_transaction else None


def hook_connections():
    connect = sqlite3.connect

    def connecting(*args, **kwargs):
        return Connection(connect(*args, **kwargs))
    sqlite3.connect = connecting


# -- a VFS shim: SQLite's own writes --------------------------------------------------------

_P = ctypes.c_void_p


class _VFS(ctypes.Structure):
    _fields_ = [('iVersion', ctypes.c_int), ('szOsFile', ctypes.c_int),
                ('mxPathname', ctypes.c_int), ('pNext', _P), ('zName', ctypes.c_char_p),
                ('pAppData', _P)] + [(name, _P) for name in (
                    'xOpen', 'xDelete', 'xAccess', 'xFullPathname', 'xDlOpen', 'xDlError',
                    'xDlSym', 'xDlClose', 'xRandomness', 'xSleep', 'xCurrentTime',
                    'xGetLastError', 'xCurrentTimeInt64', 'xSetSystemCall',
                    'xGetSystemCall', 'xNextSystemCall')]


class _IOMethods(ctypes.Structure):
    _fields_ = [('iVersion', ctypes.c_int)] + [(name, _P) for name in (
        'xClose', 'xRead', 'xWrite', 'xTruncate', 'xSync', 'xFileSize', 'xLock', 'xUnlock',
        'xCheckReservedLock', 'xFileControl', 'xSectorSize', 'xDeviceCharacteristics',
        'xShmMap', 'xShmLock', 'xShmBarrier', 'xShmUnmap', 'xFetch', 'xUnfetch')]


_OPEN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, _P, ctypes.c_int, _P)
_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, ctypes.c_int, ctypes.c_int64)
_KEEP = []  # ctypes objects SQLite points to: they must live as long as the process


def shared_sqlite():
    """The shared libsqlite3 that this Python's sqlite3 uses, or None."""
    try:
        lib = ctypes.CDLL('libsqlite3.so.0')
    except OSError:
        return None
    major, minor, patch = sqlite3.sqlite_version_info
    if lib.sqlite3_libversion_number() != major * 1000000 + minor * 1000 + patch:
        return None
    return lib


def shim_writes():
    """Make every file SQLite opens count (and maybe cut short) its writes.

    The shim is a copy of the default VFS whose xOpen opens the file with the real one
    and then points the file at a copy of its methods whose xWrite is ours.  Returns
    False when this Python's sqlite3 does not use the shared libsqlite3 (then the shim
    would not see the store's files).
    """
    lib = shared_sqlite()
    if lib is None:
        return False
    lib.sqlite3_vfs_find.restype = ctypes.POINTER(_VFS)
    lib.sqlite3_vfs_find.argtypes = [ctypes.c_char_p]
    lib.sqlite3_vfs_register.argtypes = [ctypes.POINTER(_VFS), ctypes.c_int]
    real = lib.sqlite3_vfs_find(None).contents
    real_open = _OPEN(real.xOpen)
    methods = {}  # address of a real methods table -> (our copy, the real xWrite)
    names = {}  # address of an open file -> its name

    def write(file, data, amount, offset):
        ours = _P.from_address(file).value
        real_write = next(pair[1] for pair in methods.values()
                          if ctypes.addressof(pair[0]) == ours)
        if _occurs('write'):
            torn = min(FAULT.get('torn', 0), amount)
            if torn:
                real_write(file, data, torn, offset)
            die('write', FAULT['at'], torn=torn, amount=amount, offset=offset,
                file=os.path.basename(names.get(file) or '?'))
        return real_write(file, data, amount, offset)

    c_write = _WRITE(write)

    def open_(vfs, name, file, flags, out_flags):
        rc = real_open(ctypes.addressof(real), name, file, flags, out_flags)
        table = _P.from_address(file).value
        if rc == 0 and table:
            if table not in methods:
                copy = _IOMethods.from_buffer_copy(_IOMethods.from_address(table))
                real_write = _WRITE(copy.xWrite)
                copy.xWrite = ctypes.cast(c_write, _P).value
                methods[table] = (copy, real_write)
            _P.from_address(file).value = ctypes.addressof(methods[table][0])
            names[file] = ctypes.string_at(name).decode(errors='replace') if name else None
        return rc

    c_open = _OPEN(open_)
    shim = _VFS.from_buffer_copy(real)
    shim.zName = b'flowy-crash'
    shim.pNext = None
    shim.xOpen = ctypes.cast(c_open, _P).value
    _KEEP.extend([shim, c_open, c_write, real_open, methods])
    return lib.sqlite3_vfs_register(ctypes.byref(shim), 1) == 0


WORKFLOWS = {'mix': (workflow, N), 'patient': (patient, 1), 'impatient': (impatient, 1)}


def main(driver, store, run_id, name='mix'):
    RUN_ID[0] = run_id
    hook_connections()
    if not shim_writes() and FAULT is not None and FAULT['point'] == 'write':
        print(json.dumps({'error': 'no shared libsqlite3: writes cannot be shimmed'}))
        return 3
    make, argument = WORKFLOWS[name]
    w = make(driver, store)
    try:
        result = w.run(argument, _id=run_id)
    finally:
        # Closed here, not at exit: closing checkpoints (SQLite writes, through the shim)
        # while the interpreter is whole.
        w.store.close()
    print(json.dumps({'result': result, 'counts': COUNTS}))
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:5]))
