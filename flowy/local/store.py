"""A run store: each workflow run's input, history, children, restarts and result, in SQLite.

What is stored.  Table ``runs`` has one row per run (the root, each child workflow,
each restarted or repaired run): its id, workflow name, encoded input, state (running,
finished, failed, interrupted, restarted), parent run and call key for a child,
predecessor for a restart, the run it repairs, creation and update times, its result
or failure reason and traceback text, and its claim.  Table ``records`` is append-only:
per run and per transaction, one row holds what happened to the run's calls, in order
(see :class:`~flowy.local.store_records.RunWriter`): each call scheduled (key,
dependency, position, encoded input, the keys it waited for, start time: for a retry
waiting for its delay, the time it is due, which a resumed run waits for) and each
outcome (completed, failed, timed out or cancelled, with data, reason, traceback text,
finish order and time), and each signal the run received (name, encoded value, finish
order: a signal is an outcome too).  Timers are calls of dependency ``@sleep`` (input:
the seconds; start time: when it is due), values recorded by ``marker()`` and ``now()``
calls of ``@marker`` and ``@now`` completed with the value.  :meth:`SQLiteStore.load`
rebuilds the :class:`~flowy.history.History` from them exactly: same outcomes, finish
order, positions and signal numbering.  One row per transaction rather than one per
call keeps a call's cost at a few microseconds when a decision starts many calls.

Table ``inbox`` holds messages for runs from other processes: a signal (name, encoded
value) or a cancellation (a reason), queued by :meth:`SQLiteStore.send` and read by
:meth:`SQLiteStore.inbox`, which the engine driving a run polls.  The engine deletes a
message in the commit that records what it did with it
(:meth:`~flowy.local.store_records.RunWriter.consumed`), so a message is applied
exactly once: one read by a process that died before its commit is still queued for
the process that resumes the run.  A message to a restarted run goes to the run it
restarted as; a restarted run's queued messages move to its successor, a finished or
failed run's are dropped, an interrupted run keeps them.  A cancellation of a run no
live process holds (interrupted, or its holder died) is not queued: ``send`` ends the
run at once as failed (reason ``the run was cancelled``), with its child runs that
have not ended.

Schema versions: 1 had ``runs`` and ``records``; 2 adds ``inbox``.  Opening a
version-1 store upgrades it in one transaction (``BEGIN IMMEDIATE``, the version read
again inside: processes opening it at once upgrade it once); a store upgraded so is
refused by a flowy that reads only version 1.

Transactions.  Everything one decision records (the outcomes it consumed, the calls it
starts, the child runs it creates, how the run ended) goes into one transaction,
committed once (group commit) when the ``with`` block of :meth:`SQLiteStore.decision`
or :meth:`SQLiteStore.transaction` (several runs' decisions together) ends.  Nothing
is written before that, and nothing at all if the block raises.  Commit a decision
before starting its calls: a call that started may run again after a crash, a call
whose outcome was committed never does.  The usual decision, one run's events and
nothing else, is a single statement, a transaction of its own: an ``INSERT`` of the
record that writes it only while the run is held by this store object.

Durability.  The file is in WAL mode.  ``durability='normal'`` (synchronous=NORMAL,
the default) survives a killed process: every committed transaction is there after a
crash of the program, but a power loss or OS crash may lose the last ones (never
corrupting the file).  ``durability='fsync'`` (synchronous=FULL) syncs the log at
every commit and survives a power loss too, at several times the cost per commit.

Ownership.  A process drives a run only while it holds the run's claim (its pid,
host name, process start time and a token unique to the store object), taken with
``BEGIN IMMEDIATE`` by :meth:`SQLiteStore.claim` or by creating the run.  A second
claimer gets :class:`ClaimError` naming the run and the holder; every transaction
checks that its runs are still held by the store object writing them.  A claim is
stale, and taken over silently, when it was taken on this host by a process that no
longer exists (its pid is gone, a zombie, or now belongs to a process started at
another time).  A claim from another host is never presumed stale: ``claim(...,
takeover=True)`` takes it anyway.  Ending a run (finished, failed, restarted,
interrupted) releases its claim; so does :meth:`SQLiteStore.close` for runs still held.

Opening refuses, with a :class:`StoreError` naming the file, a path that is a
directory, a file that is not SQLite, an SQLite database that is not a flowy store, a
schema newer than this version of flowy reads, and a database SQLite finds corrupt;
nothing is written to a file that was refused.  :meth:`SQLiteStore.check` runs SQLite's
full integrity check on demand.

Threads.  The local engine uses one store from its event-loop thread.  A lock makes
each method atomic, so other threads may read (listing, showing) while it runs, but a
transaction object belongs to the thread that opened it.
"""

import json
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager

from ..history import CANCELLED, COMPLETED, TIMEDOUT, History, signal_key
from ..history import FAILED as CALL_FAILED
from ..history import RUNNING as RUNNING_CALL
from .owners import has_ended, this_process
from .store_inbox import Inbox
from .store_records import (
    INTERRUPTED,
    RUNNING,
    CallRecord,
    ClaimError,
    LoadedRun,
    Message,
    PendingCall,
    RecordedError,
    RunRecord,
    StoreError,
    Transaction,
    _Decision,
)

__all__ = ['SQLiteStore', 'open_store', 'StoreError', 'ClaimError', 'RecordedError',
           'Message', 'SCHEMA_VERSION', 'APPLICATION_ID']

SCHEMA_VERSION = 2  # 1: runs and records; 2: and the inbox
APPLICATION_ID = 0x666C6F77  # 'flow', in the SQLite header: this file is a flowy store
_MAGIC = b'SQLite format 3\x00'
_JOURNAL_MAGIC = bytes.fromhex('d9d505f920a163d7')  # a rollback journal's first bytes
_DURABILITY = {'normal': 'NORMAL', 'fsync': 'FULL'}

_SCHEMA = '''
CREATE TABLE runs (
    number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, workflow TEXT NOT NULL, input TEXT,
    state TEXT NOT NULL, parent TEXT REFERENCES runs(id), parent_key TEXT,
    predecessor TEXT REFERENCES runs(id), repair_of TEXT REFERENCES runs(id),
    created REAL NOT NULL, updated REAL NOT NULL, result TEXT, reason TEXT, traceback TEXT,
    owner TEXT, owner_pid INTEGER, owner_host TEXT, owner_start INTEGER, owner_since REAL);
CREATE INDEX runs_parent ON runs(parent, parent_key);
CREATE INDEX runs_created ON runs(created);
CREATE TABLE records (
    run INTEGER NOT NULL REFERENCES runs(number), seq INTEGER NOT NULL, at REAL NOT NULL,
    outcomes INTEGER NOT NULL, events TEXT NOT NULL,
    PRIMARY KEY (run, seq)) WITHOUT ROWID;
'''
# Version 2 adds this (an upgrade of a version-1 store runs it).
_INBOX_SCHEMA = '''
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY, run TEXT NOT NULL, kind TEXT NOT NULL, name TEXT, data TEXT,
    at REAL NOT NULL);
CREATE INDEX inbox_run ON inbox(run, id);
'''
_TABLES = {1: {'runs', 'records'}, 2: {'runs', 'records', 'inbox'}}
_RUN_COLUMNS = ', '.join(RunRecord._fields)
SIGNAL_DEP = '@signal'  # the dependency shown for a signal received


_RELEASE = ('UPDATE runs SET owner=NULL, owner_pid=NULL, owner_host=NULL, owner_start=NULL, '
            'owner_since=NULL WHERE id=? AND owner=?')


def open_store(store, durability='normal'):
    """``store`` as a store object: a path opens an :class:`SQLiteStore`."""
    if store is None or not isinstance(store, (str, os.PathLike)):
        return store
    return SQLiteStore(store, durability)


class SQLiteStore(Inbox):
    """A run store in one SQLite file, created with the current schema if missing."""

    def __init__(self, path, durability='normal'):
        if durability not in _DURABILITY:
            raise ValueError("durability must be 'normal' (survives a killed process) or "
                             "'fsync' (survives a power loss too); got %r" % (durability,))
        self.path = os.fspath(path)
        self.durability = durability
        self.token = uuid.uuid4().hex
        self._lock = threading.RLock()
        # run id -> [run number, last record seq, outcomes, last update time] of held runs
        self._owned = {}
        self._host, self._pid, self._start = this_process()
        self._con = None
        self._con = self._open()

    # -- opening --------------------------------------------------------------------------

    def _refuse(self, what):
        return StoreError('%s is not usable as a flowy run store: %s' % (self.path, what))

    def _open(self):
        path = self.path
        if os.path.isdir(path):
            raise self._refuse('it is a directory')
        header = self._header()
        if self._cut_short(header):
            # A process died while it created this store (the only time a flowy store
            # has a rollback journal: it is in WAL mode from then on).  SQLite rolls
            # the file back to what was committed when it first reads it: let it, then
            # judge what is left (nothing, usually: an empty file becomes a store).
            _recover(path)
            header = self._header()
        if header:  # an empty file holds nothing to lose: it becomes a store
            if not header.startswith(_MAGIC):
                raise self._refuse('it is not an SQLite database (nothing was changed)')
            if len(header) < 100:
                raise self._refuse('the database is corrupt (its header is truncated)')
            if int.from_bytes(header[68:72], 'big') != APPLICATION_ID:
                raise self._refuse('it is an SQLite database of another application '
                                   '(nothing was changed)')
        try:
            con = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                  timeout=5.0)
        except sqlite3.Error as exc:
            raise self._refuse('SQLite cannot open it (%s)' % exc) from exc
        try:
            self._prepare(con, created=not header)
        except BaseException:
            con.close()
            raise
        return con

    def _header(self):
        try:
            with open(self.path, 'rb') as stream:
                return stream.read(100)
        except FileNotFoundError:
            return b''
        except OSError as exc:
            raise self._refuse('cannot read it (%s)' % exc) from exc

    def _cut_short(self, header):
        """True if a hot rollback journal beside the file says a write was cut short.

        A file that is plainly another application's database is left alone.
        """
        if len(header) == 100 and header.startswith(_MAGIC) and \
                int.from_bytes(header[68:72], 'big') not in (0, APPLICATION_ID):
            return False
        try:
            with open(self.path + '-journal', 'rb') as stream:
                return stream.read(len(_JOURNAL_MAGIC)) == _JOURNAL_MAGIC
        except OSError:
            return False

    def _prepare(self, con, created):
        try:
            if created:
                con.execute('BEGIN IMMEDIATE')
                if con.execute('PRAGMA application_id').fetchone()[0] == 0 and not (
                        con.execute('SELECT count(*) FROM sqlite_master').fetchone()[0]):
                    con.execute('PRAGMA application_id=%d' % APPLICATION_ID)
                    con.execute('PRAGMA user_version=%d' % SCHEMA_VERSION)
                    _execute_script(con, _SCHEMA + _INBOX_SCHEMA)
                    con.execute('COMMIT')
                else:
                    con.execute('ROLLBACK')  # another process created it meanwhile
            version = con.execute('PRAGMA user_version').fetchone()[0]
            if version > SCHEMA_VERSION:
                raise self._refuse('its schema version %d is newer than this flowy reads '
                                   '(%d); upgrade flowy' % (version, SCHEMA_VERSION))
            tables = {row[0] for row in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if version < 1 or not _TABLES[version] <= tables:
                raise self._refuse('its schema is incomplete (version %d, tables %s)'
                                   % (version, ', '.join(sorted(tables)) or 'none'))
            # Reading every table's first rows finds a file cut short or garbled early,
            # before anything is written to it.
            for table in sorted(_TABLES[version]):
                con.execute('SELECT * FROM %s LIMIT 1' % table).fetchall()
            con.execute('PRAGMA journal_mode=WAL')
            con.execute('PRAGMA synchronous=%s' % _DURABILITY[self.durability])
        except sqlite3.DatabaseError as exc:
            raise self._refuse('the database is corrupt (SQLite: %s)' % exc) from exc
        if version < SCHEMA_VERSION:
            self._upgrade(con)

    def _upgrade(self, con):
        """Bring a version-1 store to the current schema, in one transaction.

        ``BEGIN IMMEDIATE`` makes processes opening it at once take turns; the version
        is read again inside, so only the first one changes anything.
        """
        try:
            con.execute('BEGIN IMMEDIATE')
            try:
                version = con.execute('PRAGMA user_version').fetchone()[0]
                if version == 1:
                    _execute_script(con, _INBOX_SCHEMA)
                    con.execute('PRAGMA user_version=%d' % SCHEMA_VERSION)
                con.execute('COMMIT')
            except BaseException:
                if con.in_transaction:
                    con.execute('ROLLBACK')
                raise
        except sqlite3.Error as exc:
            raise self._refuse('its schema version 1 cannot be upgraded to version %d '
                               '(SQLite: %s); nothing was changed'
                               % (SCHEMA_VERSION, exc)) from exc

    def check(self):
        """Run SQLite's integrity check; raise StoreError describing any damage."""
        with self._lock:
            if self._con is None:
                raise StoreError('the run store %s is closed' % self.path)
            try:
                problems = [row[0] for row in self._con.execute('PRAGMA integrity_check')]
            except sqlite3.DatabaseError as exc:
                problems = [str(exc)]
        if problems != ['ok']:
            raise self._refuse('the database is corrupt: %s' % '; '.join(problems[:5]))

    @property
    def closed(self):
        return self._con is None

    def close(self):
        """Release the claims this object holds (the runs stay as they are) and close."""
        with self._lock:
            con, self._con = self._con, None
            if con is None:
                return
            try:
                if self._owned:
                    con.execute('BEGIN IMMEDIATE')
                    con.executemany(_RELEASE,
                                    [(run_id, self.token) for run_id in self._owned])
                    con.execute('COMMIT')
                self._owned.clear()
            finally:
                con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return '<SQLiteStore %s durability=%s>' % (self.path, self.durability)

    @contextmanager
    def _reading(self):
        with self._lock:
            if self._con is None:
                raise StoreError('the run store %s is closed' % self.path)
            try:
                yield self._con
            except sqlite3.DatabaseError as exc:
                raise StoreError('%s: %s' % (self.path, exc)) from exc

    # -- runs and their claims ------------------------------------------------------------

    def new_run_id(self, workflow):
        """``<workflow>-<UTC time>-<random>``: a fresh id for a top-level run."""
        name = ''.join(c if c.isalnum() or c in '._' else '_' for c in workflow) or 'run'
        return '%s-%s-%s' % (name, time.strftime('%Y%m%dT%H%M%SZ', time.gmtime()),
                             uuid.uuid4().hex[:8])

    def create_run(self, workflow, input, run_id=None, repair_of=None):
        """Record a new top-level run, held by this object; return its id."""
        with self.transaction() as tx:
            run_id = tx.create(workflow, input, run_id, repair_of=repair_of)
        return run_id

    def claim(self, run_id, takeover=False):
        """Hold ``run_id`` to resume it; return its :class:`RunRecord`.

        Raises :class:`ClaimError` if a live process holds it (``takeover=True`` takes
        it from any holder), and StoreError if the run is unknown or has ended (only a
        running or interrupted run can be resumed).
        """
        with self._reading() as con:
            try:
                con.execute('BEGIN IMMEDIATE')
                run = self._run(con, run_id)
                if run.state not in (RUNNING, INTERRUPTED):
                    raise StoreError('run %s in %s has %s: there is nothing to resume'
                                     % (run_id, self.path, run.state))
                number, owner, pid, host, start, since = con.execute(
                    'SELECT number, owner, owner_pid, owner_host, owner_start, owner_since '
                    'FROM runs WHERE id=?', (run_id,)).fetchone()
                if owner is not None and owner != self.token and not takeover and \
                        not has_ended(host, pid, start):
                    raise ClaimError(
                        'run %s in %s is being run by process %s on %s (since %s); stop '
                        'that process first, or wait for it to end'
                        % (run_id, self.path, pid, host, _utc(since)))
                con.execute('UPDATE runs SET state=?, owner=?, owner_pid=?, owner_host=?, '
                            'owner_start=?, owner_since=? WHERE number=?',
                            (RUNNING, self.token, self._pid, self._host, self._start,
                             time.time(), number))
                seq, done = con.execute('SELECT coalesce(max(seq), 0), coalesce(sum(outcomes), '
                                        '0) FROM records WHERE run=?', (number,)).fetchone()
                con.execute('COMMIT')
            except BaseException:
                if con.in_transaction:
                    con.execute('ROLLBACK')
                raise
            self._owned[run_id] = [number, seq, done, 0.0]
            return run._replace(state=RUNNING, owner_pid=self._pid, owner_host=self._host)

    def release(self, run_id):
        """Give up the claim on ``run_id`` without changing its state."""
        with self._reading() as con:
            con.execute(_RELEASE, (run_id, self.token))
            self._owned.pop(run_id, None)

    def holds(self, run_id):
        return run_id in self._owned

    def transaction(self):
        """``with store.transaction() as tx:`` records of one or more runs, one commit."""
        return Transaction(self)

    def decision(self, run_id):
        """``with store.decision(run_id) as d:`` one run's decision, in one transaction."""
        return _Decision(self, run_id)

    # -- reading --------------------------------------------------------------------------

    def run(self, run_id):
        """The :class:`RunRecord` of ``run_id``; StoreError if there is none."""
        with self._reading() as con:
            return self._run(con, run_id)

    def _run(self, con, run_id):
        row = con.execute('SELECT %s FROM runs WHERE id=?' % _RUN_COLUMNS, (run_id,)).fetchone()
        if row is None:
            raise StoreError('there is no run %s in %s' % (run_id, self.path))
        return RunRecord(*row)

    def runs(self, parent=None, state=None, children=False):
        """Runs, oldest first: top-level ones only unless ``children`` or ``parent``."""
        where, args = [], []
        if parent is not None:
            where.append('parent=?')
            args.append(parent)
        elif not children:
            where.append('parent IS NULL')
        if state is not None:
            where.append('state=?')
            args.append(state)
        sql = 'SELECT %s FROM runs%s ORDER BY created, number' % (
            _RUN_COLUMNS, ' WHERE ' + ' AND '.join(where) if where else '')
        with self._reading() as con:
            return [RunRecord(*row) for row in con.execute(sql, args)]

    def child(self, parent, key):
        """The latest run started for call ``key`` of ``parent`` (after restarts), or None."""
        with self._reading() as con:
            row = con.execute('SELECT %s FROM runs WHERE parent=? AND parent_key=? ORDER BY '
                              'created DESC, number DESC LIMIT 1' % _RUN_COLUMNS,
                              (parent, key)).fetchone()
        return None if row is None else RunRecord(*row)

    def successor(self, run_id):
        """The run ``run_id`` restarted as, or None."""
        with self._reading() as con:
            row = con.execute('SELECT %s FROM runs WHERE predecessor=?' % _RUN_COLUMNS,
                              (run_id,)).fetchone()
        return None if row is None else RunRecord(*row)

    def _events(self, run_id):
        """The run's record and its events in the order they were recorded.

        Each event comes with its time: its own, or that of the commit that stored it.
        """
        with self._reading() as con:
            run = self._run(con, run_id)
            rows = con.execute('SELECT records.at, records.events FROM records JOIN runs ON '
                               'records.run=runs.number WHERE runs.id=? ORDER BY seq',
                               (run_id,)).fetchall()
        try:
            events = [(event, at if event[-1] is None else event[-1])
                      for at, text in rows for event in json.loads(text)]
        except ValueError as exc:
            raise StoreError('%s: the records of run %s cannot be read (%s)'
                             % (self.path, run_id, exc)) from exc
        return run, events

    def calls(self, run_id):
        """Every call attempt of ``run_id``, in the order it was made, with its outcome."""
        calls, signals = {}, {}
        for event, at in self._events(run_id)[1]:
            kind, key = event[0], event[1]
            if kind == 'g':
                number = signals.get(key, 0)
                signals[key] = number + 1
                key = signal_key(key, number)
                calls[key] = CallRecord(key, SIGNAL_DEP, None, None, (), None, COMPLETED,
                                        event[3], None, None, event[2], at)
                continue
            if kind == 's':
                calls[key] = CallRecord(key, event[2], event[3], event[4], tuple(event[5] or ()),
                                        at, RUNNING_CALL, None, None, None, None, None)
                continue
            call = calls.get(key) or CallRecord(key, None, None, None, (), None, RUNNING_CALL,
                                                None, None, None, None, None)
            if kind == 'c':
                call = call._replace(state=COMPLETED, data=event[3])
            elif kind == 'f':
                call = call._replace(state=CALL_FAILED, reason=event[3], traceback=event[4],
                                     position=call.position if event[5] is None else event[5],
                                     type_name=_failure_type(event))
            elif kind == 'x':
                call = call._replace(state=CANCELLED, reason=event[3])
            else:
                call = call._replace(state=TIMEDOUT, reason=event[3])
            calls[key] = call._replace(order=event[2], finished=at)
        return list(calls.values())

    def load(self, run_id):
        """The run, its :class:`~flowy.history.History` rebuilt exactly, and its pending calls.

        Failures come back with a :class:`RecordedError` carrying their traceback text
        and the name of the exception's type as their cause.
        """
        run, events = self._events(run_id)
        history, pending = History(), {}
        try:
            for event, at in events:
                kind, key = event[0], event[1]
                if kind == 's':
                    history.scheduled(key, event[3])
                    pending[key] = PendingCall(key, event[2], event[3], event[4],
                                               tuple(event[5] or ()), at)
                    continue
                if event[2] != history.finished:
                    raise ValueError('%s is recorded out of finish order' % key)
                pending.pop(key, None)
                if kind == 'c':
                    history.completed(key, event[3])
                elif kind == 'g':
                    history.signalled(key, event[3])  # key: the signal's name
                elif kind == 'f':
                    type_name = _failure_type(event)
                    cause = (None if event[4] is None and type_name is None
                             else RecordedError(event[4], type_name))
                    history.failed(key, event[3], cause, event[5])
                elif kind == 't':
                    history.timed_out(key, event[3])
                elif kind == 'x':
                    history.cancelled(key, event[3])
                else:
                    raise ValueError('unknown event %r' % (event,))
        except (ValueError, TypeError, IndexError) as exc:
            raise StoreError('%s: the history of run %s is inconsistent: %s'
                             % (self.path, run_id, exc)) from exc
        return LoadedRun(run, history, list(pending.values()))

    def completed(self, run_id):
        """``{call key: encoded value}`` of the completed calls of ``run_id`` (for repair)."""
        return {event[1]: event[3] for event, _ in self._events(run_id)[1] if event[0] == 'c'}


def _execute_script(con, script):
    """Each statement of ``script`` (executescript would commit the transaction)."""
    for statement in script.split(';'):
        if statement.strip():
            con.execute(statement)


def _recover(path):
    """Let SQLite roll back a write cut short (it does when it first reads the file)."""
    try:
        con = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        try:
            con.execute('SELECT count(*) FROM sqlite_master').fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        pass  # the file is judged as it is


def _utc(when):
    return 'unknown' if when is None else time.strftime('%Y-%m-%d %H:%M:%S UTC',
                                                        time.gmtime(when))


def _failure_type(event):
    """The exception type's name a failure event records (older records have none)."""
    return event[6] if len(event) > 7 else None
