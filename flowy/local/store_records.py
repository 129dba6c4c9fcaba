"""What a run store records: the records it returns, and the rows one transaction writes."""

import json
import sqlite3
import time
import traceback
from collections import namedtuple

from ..errors import FlowyError, TaskError, describe_failure

__all__ = ['RUNNING', 'FINISHED', 'FAILED', 'INTERRUPTED', 'RESTARTED', 'STATES',
           'CANCELLED_REASON', 'SIGNAL', 'CANCEL', 'StoreError', 'ClaimError',
           'RecordedError', 'RunRecord', 'CallRecord', 'PendingCall', 'LoadedRun', 'Message',
           'Transaction', 'RunWriter', 'traceback_text', 'was_cancelled']

# The states of a run.  Only a running one has an owner; the others are final, except
# that an interrupted run may be claimed and resumed.
RUNNING = 'running'
FINISHED = 'finished'
FAILED = 'failed'
INTERRUPTED = 'interrupted'
RESTARTED = 'restarted'
STATES = (RUNNING, FINISHED, FAILED, INTERRUPTED, RESTARTED)

#: A cancelled run is a failed run whose reason starts with this.
CANCELLED_REASON = 'the run was cancelled'

# The kinds of message another process leaves in a run's inbox.
SIGNAL = 'signal'
CANCEL = 'cancel'


class StoreError(FlowyError):
    """A run store cannot be used: the message names the file and what is wrong."""


class ClaimError(StoreError):
    """Another live process (or another store object) drives this run."""


class RecordedError(FlowyError):
    """A failure read back from a run store: its text (the traceback) and its type's name.

    ``text`` is the traceback recorded with the failure (or its reason when there was
    none); ``type_name`` the name of the type of the exception the task raised, when it
    was recorded.  The :class:`flowy.TaskError` a body sees carries both.
    """

    def __init__(self, text, type_name=None):
        super().__init__(text)
        self.text = text
        self.type_name = type_name

    @property
    def remote_type(self):
        return self.type_name

    @property
    def remote_traceback(self):
        return self.text

    def __str__(self):
        return self.text

    def __reduce__(self):
        return type(self), (self.text, self.type_name)


RunRecord = namedtuple('RunRecord', (
    'id', 'workflow', 'input', 'state', 'parent', 'parent_key', 'predecessor', 'repair_of',
    'created', 'updated', 'result', 'reason', 'traceback', 'owner_pid', 'owner_host'))
RunRecord.__doc__ = """One run as stored.

``parent`` and ``parent_key`` name the run and call that started a child workflow;
``predecessor`` is the run this one restarted from (``restart``), ``repair_of`` the
failed or interrupted run whose completed outcomes it reuses.  ``result`` is the
encoded value of a finished run; ``reason`` and ``traceback`` say why a run failed.
``owner_pid`` and ``owner_host`` name the process driving a running run, if any.
"""

CallRecord = namedtuple('CallRecord', (
    'key', 'dep', 'position', 'input', 'depends_on', 'started', 'state', 'data', 'reason',
    'traceback', 'order', 'finished', 'type_name'), defaults=(None,))
CallRecord.__doc__ = """One attempt of one call of a run, for display.

``reason``, ``traceback`` and ``type_name`` (the name of the type of the exception a
failed task raised, when known) say why an attempt failed.

``state`` is ``'running'`` until an outcome is recorded (``'completed'``, ``'failed'``,
``'timedout'`` or ``'cancelled'``); ``order`` is its place in the finish order.
``started`` and ``finished`` are UNIX times; a call that failed before it could start
has no ``started``.  Besides task calls: a timer (``dep`` ``'@sleep'``, ``input`` its
seconds, ``started`` the time it is due), a recorded value (``'@marker'``, ``'@now'``:
``data`` is the value) and a signal received (``'@signal'``, key
``@signal-<name>-<n>``, ``data`` its value, ``finished`` when it was recorded).
"""

PendingCall = namedtuple('PendingCall', ('key', 'dep', 'position', 'input', 'depends_on',
                                         'started'))
PendingCall.__doc__ = """A call that was scheduled and has no recorded outcome (to start again)."""

LoadedRun = namedtuple('LoadedRun', ('run', 'history', 'pending'))
LoadedRun.__doc__ = """A run's record, its rebuilt History, and its calls still pending."""

Message = namedtuple('Message', ('id', 'run', 'kind', 'name', 'data', 'at'))
Message.__doc__ = """A message queued for a run by another process (see ``SQLiteStore.send``).

``kind`` is ``'signal'`` (``name`` the signal's name, ``data`` its encoded value) or
``'cancel'`` (``data`` a reason, or None); ``at`` is when it was sent.  The engine
driving the run applies it and deletes it in the same commit
(:meth:`RunWriter.consumed`), so it is applied exactly once.
"""


def was_cancelled(run):
    """True if the :class:`RunRecord` ``run`` ended because it was cancelled."""
    return run.state == FAILED and (run.reason or '').startswith(CANCELLED_REASON)


def _duration(call):
    if call.started is None or call.finished is None:
        return None
    return call.finished - call.started


CallRecord.duration = property(_duration, doc='Seconds from start to outcome, or None.')

_INSERT_RUN = ('INSERT INTO runs (id, workflow, input, state, parent, parent_key, predecessor, '
               'repair_of, created, updated, owner, owner_pid, owner_host, owner_start, '
               'owner_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
_RECORD = 'INSERT INTO records VALUES (?,?,?,?,?)'
# The common commit, one run's record and nothing else, is this one statement: on its
# own (autocommit) it is a transaction that takes the write lock before it reads, and
# it inserts the row only while the run is held by this store object (rowcount 1).
_RECORD_IF_HELD = ('INSERT INTO records SELECT ?,?,?,?,? WHERE EXISTS '
                   '(SELECT 1 FROM runs WHERE number=? AND owner=?)')
_HELD = 'SELECT 1 FROM runs WHERE number=? AND owner=?'
_encode = json.JSONEncoder(separators=(',', ':')).encode
if json.encoder.c_make_encoder is not None:
    # The same text without JSONEncoder.encode's set-up per call (events hold no cycles).
    _events_encoder = json.encoder.c_make_encoder(
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ':',
        ',', False, False, True)

    def _encode(events, _chunks=_events_encoder, _join=''.join):
        return _join(_chunks(events, 0))


def _joined(events):
    """The JSON list of events encoded one by one."""
    return '[%s]' % ','.join(events)


_TOUCH = 'UPDATE runs SET updated=? WHERE number=? AND owner=?'
_CONSUME = 'DELETE FROM inbox WHERE id=?'
# What an ending does to the messages still queued for the run: a restarted run's go to
# its successor, a finished or failed run's are dropped, an interrupted run keeps them
# for its resumption.
_FORWARD = 'UPDATE inbox SET run=? WHERE run=?'
_DROP = 'DELETE FROM inbox WHERE run=?'
_END = ('UPDATE runs SET updated=?, state=?, result=?, reason=?, traceback=?, owner=NULL, '
        'owner_pid=NULL, owner_host=NULL, owner_start=NULL, owner_since=NULL '
        'WHERE number=? AND owner=?')


class Transaction:
    """What one commit records; :meth:`run` gives the writer of one held run.

    Nothing touches the file before the ``with`` block ends without an exception.
    """

    def __init__(self, store):
        self._store = store
        self._writers = {}
        self._new = []  # (row, writer) of the runs created here
        self._consumed = []  # ids of inbox messages applied by this transaction

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        try:
            if kind is not None:
                return  # nothing was written
            store = self._store
            with store._lock:
                if store._con is None:
                    raise StoreError('the run store %s is closed' % store.path)
                try:
                    self._commit(store._con)
                except sqlite3.DatabaseError as exc:
                    raise StoreError('%s: %s' % (store.path, exc)) from exc
        finally:
            # Each writer refers to this transaction: without this, the transaction and
            # its events would wait for the garbage collector (a cycle), and make every
            # collection until then longer.
            self._writers.clear()
            self._new.clear()
            self._consumed.clear()

    def run(self, run_id):
        writer = self._writers.get(run_id)
        if writer is None:
            held = self._store._owned.get(run_id)
            if held is None:
                raise ClaimError('run %s in %s is not held by this store object: claim it '
                                 'first' % (run_id, self._store.path))
            writer = self._writers[run_id] = RunWriter(self, run_id, *held)
        return writer

    def create(self, workflow, input, run_id=None, parent=None, parent_key=None,
               predecessor=None, repair_of=None):
        """Record a new run, held by this store once committed; return its id."""
        store = self._store
        if run_id is None:
            run_id = (store.new_run_id(workflow) if parent is None or predecessor is not None
                      else '%s/%s' % (parent, parent_key))
        now = time.time()
        writer = self._writers[run_id] = RunWriter(self, run_id, None, 0, 0, now)
        self._new.append(((run_id, workflow, input, RUNNING, parent, parent_key, predecessor,
                           repair_of, now, now, store.token, store._pid, store._host,
                           store._start, now), writer))
        return run_id

    def _commit(self, con):
        store, token, now = self._store, self._store.token, time.time()
        if not self._new and not self._consumed and len(self._writers) == 1:
            for writer in self._writers.values():
                if writer.end is None and now - writer.updated < 1.0:
                    self._commit_one(con, writer, store, token, now)
                    return
        records = []
        try:
            # BEGIN inside the try: an exception raised asynchronously (SIGTERM, Ctrl-C)
            # right after it must not leave the connection inside a transaction.
            con.execute('BEGIN IMMEDIATE')
            for row, writer in self._new:
                writer.number = con.execute(_INSERT_RUN, row).lastrowid
            if self._consumed:
                # Before any ending drops the run's messages: each must still be there.
                # One already gone was applied by another commit: applying it again
                # would apply it twice.
                consumed = sorted(set(self._consumed))
                deleted = con.executemany(_CONSUME, [(id,) for id in consumed]).rowcount
                if deleted != len(consumed):
                    raise StoreError('%s: %d of the inbox messages %s are no longer there: '
                                     'another commit applied them'
                                     % (store.path, len(consumed) - deleted,
                                        ', '.join(map(str, consumed))))
            for writer in self._writers.values():
                number = writer.number
                # Every run written must still be held by this object.  Its update time
                # is rewritten at most once a second: reading the claim costs less.
                if writer.end is not None:
                    held = con.execute(_END, (now,) + writer.end + (number, token)).rowcount
                    if writer.end[0] == RESTARTED:
                        con.execute(_FORWARD, (writer.successor, writer.run_id))
                    elif writer.end[0] != INTERRUPTED:
                        con.execute(_DROP, (writer.run_id,))
                elif now - writer.updated >= 1.0:
                    held = con.execute(_TOUCH, (now, number, token)).rowcount
                    writer.updated = now
                else:
                    held = len(con.execute(_HELD, (number, token)).fetchall())
                if held != 1:
                    store._owned.pop(writer.run_id, None)
                    raise ClaimError('run %s in %s is no longer held by this process: '
                                     'another one took it over' % (writer.run_id, store.path))
                if writer.events:
                    writer.seq += 1
                    records.append((number, writer.seq, now, writer.finished,
                                    _joined(writer.events)))
            if len(records) == 1:
                con.execute(_RECORD, records[0])
            elif records:
                con.executemany(_RECORD, records)
            con.execute('COMMIT')
        except sqlite3.IntegrityError as exc:
            _rollback(con)
            raise StoreError('%s: cannot record this (%s): a run id is used once'
                             % (store.path, exc)) from exc
        except BaseException:
            _rollback(con)
            raise
        for run_id, writer in self._writers.items():
            if writer.end is None:
                store._owned[run_id] = [writer.number, writer.seq, writer.done, writer.updated]
            else:
                store._owned.pop(run_id, None)

    @staticmethod
    def _commit_one(con, writer, store, token, now):
        """One run's events, no new run, no end: one statement, its own transaction."""
        number = writer.number
        if writer.events:
            seq = writer.seq + 1
            held = con.execute(_RECORD_IF_HELD, (number, seq, now, writer.finished,
                                                 _joined(writer.events), number,
                                                 token)).rowcount
        else:
            seq = writer.seq
            held = len(con.execute(_HELD, (number, token)).fetchall())
        if held != 1:
            store._owned.pop(writer.run_id, None)
            raise ClaimError('run %s in %s is no longer held by this process: another '
                             'one took it over' % (writer.run_id, store.path))
        writer.seq = seq
        store._owned[writer.run_id] = [number, seq, writer.done, writer.updated]


class RunWriter:
    """What one transaction records of one run: its events, and maybe how it ended.

    The events of a run in one transaction are stored as one row (a JSON list), in the
    order they were recorded: ``['s', key, dep, position, input, depends_on, time]`` for a
    scheduled call, ``['c', key, order, data, time]``, ``['f', key, order, reason,
    traceback, position, time]`` or ``['f', key, order, reason, traceback, position,
    type_name, time]`` (the name of the type of the exception the task raised),
    ``['t', key, order, reason, time]`` and ``['x', key, order, reason, time]``
    (cancelled) for outcomes, and ``['g', name, order, data,
    time]`` for a signal received (an outcome too: it takes a place in the finish order;
    its key, ``@signal-<name>-<n>``, comes from counting the signals of that name).
    Timers and recorded values are calls of dependency ``@sleep`` (input: the seconds;
    time: when it is due), ``@marker`` or ``@now``, their values ``'c'`` outcomes.
    A null time is the commit's.  Each event is encoded as it is recorded: a decision
    keeps text, not tuples that would outlive the garbage collector's youngest
    generation and, freed together at the commit, postpone its collections until they
    are large.
    """

    __slots__ = ('tx', 'run_id', 'number', 'seq', 'done', 'updated', 'events', 'finished',
                 'end', 'successor')

    def __init__(self, tx, run_id, number, seq, done, updated):
        self.tx, self.run_id, self.number, self.seq, self.done = tx, run_id, number, seq, done
        self.updated, self.events, self.finished, self.end = updated, [], 0, None
        self.successor = None

    def scheduled(self, key, dep, position, input, depends_on=(), at=None):
        self.events.append(_encode(('s', key, dep, position, input, depends_on or None, at)))

    def completed(self, key, data, at=None):
        self.events.append(_encode(('c', key, self.done, data, at)))
        self.done += 1
        self.finished += 1

    def failed(self, key, reason, cause=None, position=None, at=None):
        """``cause`` (an exception, or traceback text) is kept as traceback text, and the
        name of the exception's type beside it."""
        type_name, text = (None, cause) if isinstance(cause, str) else describe_failure(cause)
        text = traceback_text(cause if text is None else text)
        if type_name is None:
            event = ('f', key, self.done, reason, text, position, at)
        else:
            event = ('f', key, self.done, reason, text, position, type_name, at)
        self.events.append(_encode(event))
        self.done += 1
        self.finished += 1

    def timed_out(self, key, reason='the task timed out', at=None):
        self.events.append(_encode(('t', key, self.done, reason, at)))
        self.done += 1
        self.finished += 1

    def cancelled(self, key, reason=None, at=None):
        """Call ``key`` was cancelled, while running or before it could start."""
        self.events.append(_encode(('x', key, self.done, reason, at)))
        self.done += 1
        self.finished += 1

    def signalled(self, name, data, at=None):
        """A signal ``name`` carrying ``data`` (encoded) reached the run."""
        self.events.append(_encode(('g', name, self.done, data, at)))
        self.done += 1
        self.finished += 1

    def consumed(self, message_ids):
        """Delete these inbox messages in this transaction: they were applied.

        If the commit does not happen, they stay queued and are applied again by the
        process that resumes the run.
        """
        self.tx._consumed.extend(message_ids)

    def child(self, key, workflow, input, run_id=None):
        """Record the child run started for call ``key``; return its id."""
        return self.tx.create(workflow, input, run_id, parent=self.run_id, parent_key=key)

    def finish(self, result):
        self.end = (FINISHED, result, None, None)

    def fail(self, reason, cause=None):
        self.end = (FAILED, None, reason, traceback_text(cause))

    def interrupt(self, reason='the run was interrupted'):
        self.end = (INTERRUPTED, None, reason, None)

    def restart(self, workflow, input, run_id=None):
        """End this run as restarted; record and return the id of its successor.

        The successor keeps the parent and call key of a child workflow.
        """
        self.end = (RESTARTED, None, None, None)
        row = next((row for row, writer in self.tx._new if writer is self), None)
        if row is None:
            run = self.tx._store.run(self.run_id)
            parent, key = run.parent, run.parent_key
        else:
            parent, key = row[4], row[5]
        if run_id is None:
            base, _, number = self.run_id.rpartition('+')
            run_id = ('%s+%d' % (base, int(number) + 1) if base and number.isdigit()
                      else self.run_id + '+1')
        self.successor = self.tx.create(workflow, input, run_id, parent, key,
                                        predecessor=self.run_id)
        return self.successor


class _Decision(Transaction):
    def __init__(self, store, run_id):
        super().__init__(store)
        self._run_id = run_id

    def __enter__(self):
        return self.run(self._run_id)


def _rollback(con):
    if con.in_transaction:
        con.execute('ROLLBACK')


def traceback_text(cause):
    """The traceback text kept for ``cause``: an exception, text, or None.

    For a :class:`flowy.TaskError` of a call, that is the traceback of the task's own
    exception (where the task ran), when it is known.
    """
    if cause is None or isinstance(cause, str):
        return cause
    if isinstance(cause, RecordedError):
        return cause.text
    if isinstance(cause, TaskError) and cause.key is not None and cause.traceback:
        return cause.traceback
    try:
        return ''.join(traceback.format_exception(cause))
    except Exception:
        return repr(cause)
