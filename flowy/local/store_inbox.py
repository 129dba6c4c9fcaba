"""The run store's inbox: signals and cancellations that other processes send to runs.

A message waits in table ``inbox`` until the process driving its run applies it and
deletes it in the same commit (see :mod:`flowy.local.store`); a cancellation of a run no
live process drives ends the run at once instead.
"""

import time

from .owners import has_ended
from .store_records import (
    CANCEL,
    CANCELLED_REASON,
    FAILED,
    INTERRUPTED,
    RESTARTED,
    RUNNING,
    SIGNAL,
    Message,
    RunRecord,
    StoreError,
)

__all__ = ['Inbox', 'restarted_as']

_MESSAGE_COLUMNS = ', '.join(Message._fields)
_INBOX_OF_ONE = 'SELECT %s FROM inbox WHERE run=? ORDER BY id' % _MESSAGE_COLUMNS
_INBOX_CHUNK = 500  # run ids per query: well under SQLite's limit on parameters
_RUN_COLUMNS = ', '.join(RunRecord._fields)


class Inbox:
    """The part of :class:`~flowy.local.store.SQLiteStore` that takes and gives messages."""

    def send(self, run_id, kind, name=None, data=None):
        """Queue a message for ``run_id`` (or the run it restarted as, latest first).

        ``kind`` is ``'signal'`` (``name``: the signal's name, ``data``: its encoded
        value, a str) or ``'cancel'`` (``data``: a reason, or None).  The process that
        drives the run applies it at its next decision.  Return ``'queued'``; or
        ``'cancelled'`` when a cancellation found no live process driving the run (it
        was interrupted, or its holder died): the run, and those of its child runs that
        had not ended, are then ended here as failed, with the reason
        ``'the run was cancelled'`` (and ``data``, if given).

        StoreError for a run that is unknown or has finished or failed.
        """
        if kind == SIGNAL:
            if not isinstance(name, str) or not name:
                raise ValueError('a signal needs a name (a non-empty str); got %r' % (name,))
        elif kind == CANCEL:
            if name is not None:
                raise ValueError('a cancellation has no name; got %r' % (name,))
        else:
            raise ValueError("the kind of a message is 'signal' or 'cancel'; got %r"
                             % (kind,))
        if data is not None and not isinstance(data, str):
            raise ValueError('the data of a message is encoded text (a str) or None; got %s'
                             % type(data).__name__)
        with self._reading() as con:
            try:
                con.execute('BEGIN IMMEDIATE')
                run = self._latest(con, run_id)
                if run.state not in (RUNNING, INTERRUPTED):
                    raise StoreError(
                        'run %s in %s %s: %s' % (
                            restarted_as(run_id, run), self.path, run.state,
                            'it takes no more signals' if kind == SIGNAL
                            else 'there is nothing to cancel'))
                now = time.time()
                if kind == CANCEL and not self._live(con, run.id):
                    self._cancel_here(con, run.id, data, now)
                    outcome = 'cancelled'
                else:
                    con.execute('INSERT INTO inbox (run, kind, name, data, at) '
                                'VALUES (?,?,?,?,?)', (run.id, kind, name, data, now))
                    outcome = 'queued'
                con.execute('COMMIT')
            except BaseException:
                if con.in_transaction:
                    con.execute('ROLLBACK')
                raise
        return outcome

    def _live(self, con, run_id):
        """True if a process that may still run (this store object included) holds it."""
        owner, pid, host, start = con.execute(
            'SELECT owner, owner_pid, owner_host, owner_start FROM runs WHERE id=?',
            (run_id,)).fetchone()
        if owner is None:
            return False
        return owner == self.token or not has_ended(host, pid, start)

    def _cancel_here(self, con, run_id, reason, now):
        """End ``run_id`` and its unended descendants as cancelled (no live holder)."""
        text = CANCELLED_REASON if not reason else '%s: %s' % (CANCELLED_REASON, reason)
        descendants = [row[0] for row in con.execute(
            'WITH RECURSIVE tree(id) AS (SELECT id FROM runs WHERE parent=? UNION '
            'SELECT runs.id FROM runs JOIN tree ON runs.parent=tree.id) '
            'SELECT runs.id FROM runs JOIN tree ON runs.id=tree.id WHERE runs.state IN (?,?) '
            'ORDER BY runs.number', (run_id, RUNNING, INTERRUPTED))]
        ended = [(text, run_id)] + [('%s: its parent run %s was cancelled'
                                     % (CANCELLED_REASON, run_id), child)
                                    for child in descendants]
        con.executemany('UPDATE runs SET state=?, updated=?, reason=?, owner=NULL, '
                        'owner_pid=NULL, owner_host=NULL, owner_start=NULL, '
                        'owner_since=NULL WHERE id=?',
                        [(FAILED, now, why, id) for why, id in ended])
        con.executemany('DELETE FROM inbox WHERE run=?', [(id,) for _, id in ended])
        for _, id in ended:
            self._owned.pop(id, None)

    def inbox(self, run_ids):
        """The :class:`Message` objects queued for ``run_ids`` (a list, or one id), oldest
        first."""
        if isinstance(run_ids, str):
            run_ids = (run_ids,)
        else:
            run_ids = list(run_ids)
        with self._reading() as con:
            if len(run_ids) == 1:
                rows = con.execute(_INBOX_OF_ONE, run_ids).fetchall()
            else:
                rows = []
                for start in range(0, len(run_ids), _INBOX_CHUNK):
                    chunk = run_ids[start:start + _INBOX_CHUNK]
                    rows += con.execute('SELECT %s FROM inbox WHERE run IN (%s) ORDER BY id'
                                        % (_MESSAGE_COLUMNS, ','.join('?' * len(chunk))),
                                        chunk).fetchall()
                if len(run_ids) > _INBOX_CHUNK:
                    rows.sort()
        return [Message(*row) for row in rows]

    def latest(self, run_id):
        """The :class:`RunRecord` of ``run_id``, or of the run it restarted as (the
        latest, after several restarts)."""
        with self._reading() as con:
            return self._latest(con, run_id)

    def _latest(self, con, run_id):
        run = self._run(con, run_id)
        seen = {run.id}
        while run.state == RESTARTED:
            row = con.execute('SELECT %s FROM runs WHERE predecessor=?' % _RUN_COLUMNS,
                              (run.id,)).fetchone()
            if row is None or row[0] in seen:
                raise StoreError('%s: run %s restarted, but its successor is not recorded'
                                 % (self.path, run.id))
            run = RunRecord(*row)
            seen.add(run.id)
        return run


def restarted_as(run_id, run):
    """``run_id``, or how a message to it reached ``run``: ``'<run.id> (which <run_id>
    restarted as)'`` when ``run`` is its latest successor."""
    return run_id if run.id == run_id else '%s (which %s restarted as)' % (run.id, run_id)
