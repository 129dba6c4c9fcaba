"""The run store's inbox (signals and cancellations from other processes), its schema
upgrade, and the signal, cancellation, timer and marker events of a run's history.

Every subprocess here is bounded by a timeout; nothing sleeps.
"""

import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest
from waiting import PROMPT

from flowy.history import History
from flowy.local.store import SCHEMA_VERSION, ClaimError, SQLiteStore, StoreError
from flowy.local.store_records import was_cancelled


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'runs.db')


@pytest.fixture
def store(path):
    with SQLiteStore(path) as store:
        yield store


def said(process):
    ready, _, _ = select.select([process.stdout], [], [], PROMPT)
    assert ready, 'the subprocess said nothing within %d s' % PROMPT
    return process.stdout.readline().strip()


def messages(store, *run_ids):
    return [(m.run, m.kind, m.name, m.data) for m in store.inbox(list(run_ids))]


# -- the schema upgrade -------------------------------------------------------------------

# The schema of version 1, as flowy wrote it before the inbox.
VERSION_1 = '''
PRAGMA application_id=1718382455;
PRAGMA user_version=1;
PRAGMA journal_mode=WAL;
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
INSERT INTO runs (id, workflow, input, state, created, updated)
    VALUES ('old', 'Wf', '[[1],{}]', 'interrupted', 1.0, 2.0);
INSERT INTO records VALUES (1, 1, 1.5, 1, '[["s","a-0-0","a",0,"[[1],{}]",null,null],'
                                         || '["c","a-0-0",0,"1",null]]');
'''


def version_1(path):
    con = sqlite3.connect(path)
    con.executescript(VERSION_1)
    con.close()


def version_and_tables(path):
    con = sqlite3.connect(path)
    try:
        version = con.execute('PRAGMA user_version').fetchone()[0]
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()
    return version, tables


def test_a_version_1_store_is_upgraded_on_open_keeping_its_runs(path):
    version_1(path)
    assert version_and_tables(path)[0] == 1
    with SQLiteStore(path) as store:
        assert store.load('old').history.get('a-0-0').data == '1'
        assert store.send('old', 'signal', 'go', '5') == 'queued'
        assert messages(store, 'old') == [('old', 'signal', 'go', '5')]
    version, tables = version_and_tables(path)
    assert version == SCHEMA_VERSION == 2
    assert {'inbox', 'inbox_run'} <= tables
    with SQLiteStore(path) as store:  # opening an upgraded store changes nothing
        assert messages(store, 'old') == [('old', 'signal', 'go', '5')]
    assert version_and_tables(path) == (version, tables)


def test_processes_opening_a_version_1_store_at_once_upgrade_it_once(path):
    for _ in range(5):
        for name in (path, path + '-wal', path + '-shm'):
            if os.path.exists(name):
                os.remove(name)
        version_1(path)
        start, opened, errors = threading.Barrier(4), [], []

        def open_it(start, opened, errors):
            start.wait(PROMPT)
            try:
                opened.append(SQLiteStore(path))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_it, args=(start, opened, errors))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(PROMPT)
        assert errors == [] and len(opened) == 4
        for store in opened:
            store.close()
        assert version_and_tables(path)[0] == 2


def test_a_newer_schema_is_still_refused(path):
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute('PRAGMA user_version=3')
    con.close()
    with pytest.raises(StoreError, match='schema version 3 is newer') as info:
        SQLiteStore(path)
    assert path in str(info.value)


def test_a_version_2_store_without_its_inbox_is_refused(path):
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute('DROP TABLE inbox')
    con.close()
    with pytest.raises(StoreError, match='schema is incomplete'):
        SQLiteStore(path)


# -- sending ------------------------------------------------------------------------------

def test_send_queues_signals_and_cancellations_of_a_held_run_in_order(path, store):
    run_id = store.create_run('Wf', '[]', run_id='live')
    with SQLiteStore(path) as other:
        assert other.send('live', 'signal', 'approve', '{"by":"ann"}') == 'queued'
        assert other.send('live', 'signal', 'approve') == 'queued'
        assert other.send('live', 'cancel', data='enough') == 'queued'  # held by `store`
    queued = store.inbox([run_id])
    assert [(m.kind, m.name, m.data) for m in queued] == [
        ('signal', 'approve', '{"by":"ann"}'), ('signal', 'approve', None),
        ('cancel', None, 'enough')]
    assert [m.id for m in queued] == sorted(m.id for m in queued)
    assert all(m.run == run_id and m.at > 0 for m in queued)
    assert store.inbox(run_id) == queued  # one id may be given as a str
    assert store.inbox([]) == [] and store.inbox(['other']) == []
    assert store.run(run_id).state == 'running'


def test_inbox_reads_many_runs_in_id_order(store):
    run_ids = [store.create_run('Wf', '[]') for _ in range(3)]
    for number in range(6):
        store.send(run_ids[number % 3], 'signal', 's', str(number))
    got = store.inbox(run_ids[::-1] + ['unknown-%d' % n for n in range(600)])
    assert [m.data for m in got] == [str(n) for n in range(6)]
    assert [m.run for m in got] == run_ids * 2


def test_consumed_messages_go_with_the_commit_that_applies_them(store):
    run_id = store.create_run('Wf', '[]')
    store.send(run_id, 'signal', 'go', '1')
    store.send(run_id, 'signal', 'go', '2')
    first, second = store.inbox([run_id])
    with pytest.raises(RuntimeError):
        with store.decision(run_id) as d:
            d.signalled('go', first.data)
            d.consumed([first.id])
            raise RuntimeError('the engine broke before the commit')
    assert store.inbox([run_id]) == [first, second]  # rolled back: still queued
    assert store.load(run_id).history.signals('go') == 0
    with store.decision(run_id) as d:  # events and a consumed message: one commit
        d.signalled('go', first.data)
        d.consumed([first.id])
    assert store.inbox([run_id]) == [second]
    with store.decision(run_id) as d:  # only a consumed message: still committed
        d.consumed([second.id])
    assert store.inbox([run_id]) == []
    history = store.load(run_id).history
    assert history.signals('go') == 1 and history.get('@signal-go-0').data == '1'


def test_a_message_applied_twice_is_refused_and_nothing_is_written(store):
    run_id = store.create_run('Wf', '[]')
    store.send(run_id, 'signal', 'go', '1')
    (message,) = store.inbox([run_id])
    with store.decision(run_id) as d:
        d.signalled('go', '1')
        d.consumed([message.id])
    with pytest.raises(StoreError, match='no longer there'):
        with store.decision(run_id) as d:
            d.signalled('go', '1')
            d.consumed([message.id])
    assert store.load(run_id).history.signals('go') == 1


def test_a_refused_commit_leaves_the_messages_queued(path, store):
    run_id = store.create_run('Wf', '[]')
    store.send(run_id, 'signal', 'go')
    (message,) = store.inbox([run_id])
    with SQLiteStore(path) as other:
        other.claim(run_id, takeover=True)
        with pytest.raises(ClaimError, match='no longer held'):
            with store.decision(run_id) as d:
                d.signalled('go', None)
                d.consumed([message.id])
        assert other.inbox([run_id]) == [message]


READER = textwrap.dedent('''
    import sys
    from flowy.local.store import SQLiteStore
    store = SQLiteStore(sys.argv[1])
    store.claim(sys.argv[2])
    (message,) = store.inbox([sys.argv[2]])
    print(message.name, flush=True)
    sys.stdin.readline()  # killed here: between reading the message and committing it
    with store.decision(sys.argv[2]) as d:
        d.signalled(message.name, message.data)
        d.consumed([message.id])
''')


def test_a_process_killed_between_reading_a_message_and_committing_leaves_it(path, store):
    run_id = store.create_run('Wf', '[]')
    store.send(run_id, 'signal', 'approve', 'true')
    store.release(run_id)
    process = subprocess.Popen([sys.executable, '-c', READER, path, run_id],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert said(process) == 'approve'
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=PROMPT)
    store.claim(run_id)  # its holder is gone
    (message,) = store.inbox([run_id])
    assert (message.name, message.data) == ('approve', 'true')
    assert store.load(run_id).history.signals('approve') == 0
    with store.decision(run_id) as d:
        d.signalled(message.name, message.data)
        d.consumed([message.id])
    assert store.inbox([run_id]) == []
    assert store.load(run_id).history.get('@signal-approve-0').data == 'true'


def test_send_follows_restarts_and_endings_forward_or_drop_the_inbox(store):
    first = store.create_run('Wf', '[]', run_id='loop')
    store.send(first, 'signal', 'early', '1')
    with store.decision(first) as d:
        second = d.restart('Wf', '[]')
    assert second == 'loop+1'
    assert messages(store, first, second) == [(second, 'signal', 'early', '1')]
    with store.decision(second) as d:
        third = d.restart('Wf', '[]')
    assert store.latest(first).id == third
    assert store.send(first, 'signal', 'late', '2') == 'queued'
    assert messages(store, third) == [(third, 'signal', 'early', '1'),
                                      (third, 'signal', 'late', '2')]
    with store.decision(third) as d:
        d.interrupt()
    assert len(store.inbox([third])) == 2  # kept for the resumption
    store.claim(third)
    with store.decision(third) as d:
        d.finish('null')
    assert store.inbox([first, second, third]) == []


def test_sending_to_an_ended_or_unknown_run_is_refused_naming_it(path, store):
    done = store.create_run('Wf', '[]', run_id='done')
    with store.decision(done) as d:
        d.finish('1')
    broken = store.create_run('Wf', '[]', run_id='broken')
    with store.decision(broken) as d:
        d.fail('boom')
    with pytest.raises(StoreError, match='run done in .* finished: it takes no more signals'):
        store.send('done', 'signal', 'go')
    with pytest.raises(StoreError, match='run broken in .* failed: it takes no more signals'):
        store.send('broken', 'signal', 'go')
    with pytest.raises(StoreError, match='finished: there is nothing to cancel') as info:
        store.send('done', 'cancel')
    assert path in str(info.value)
    with pytest.raises(StoreError, match='no run ghost'):
        store.send('ghost', 'signal', 'go')
    restarted = store.create_run('Wf', '[]', run_id='r')
    with store.decision(restarted) as d:
        successor = d.restart('Wf', '[]')
    with store.decision(successor) as d:
        d.finish('2')
    with pytest.raises(StoreError, match=r'run r\+1 \(which r restarted as\) .* finished'):
        store.send('r', 'signal', 'go')
    live = store.create_run('Wf', '[]')
    for kind, name, data, message in [
            ('poke', None, None, "'signal' or 'cancel'"), ('signal', None, None, 'needs a name'),
            ('signal', '', None, 'needs a name'), ('cancel', 'x', None, 'has no name'),
            ('signal', 'go', 5, 'encoded text')]:
        with pytest.raises(ValueError, match=message):
            store.send(live, kind, name, data)
    assert store.inbox([live, 'done', 'broken']) == []


# -- cancelling a run no process drives ---------------------------------------------------

def family(store):
    """An interrupted run with a running child, a grandchild and an ended child."""
    root = store.create_run('Parent', '[]', run_id='root')
    with store.decision(root) as d:
        child = d.child('kid-0-0', 'Child', '[]')
        done = d.child('kid-1-0', 'Child', '[]')
    with store.decision(child) as d:
        grandchild = d.child('sub-0-0', 'Grandchild', '[]')
    with store.decision(done) as d:
        d.finish('1')
    with store.transaction() as tx:
        for run_id in (root, child, grandchild):
            tx.run(run_id).interrupt()
    return root, child, grandchild, done


def test_cancelling_an_interrupted_run_ends_it_and_its_unended_children(path, store):
    root, child, grandchild, done = family(store)
    store.send(child, 'signal', 'go')
    with SQLiteStore(path) as other:
        assert other.send(root, 'cancel', data='not needed any more') == 'cancelled'
    run = store.run(root)
    assert (run.state, run.reason) == ('failed', 'the run was cancelled: not needed any more')
    assert run.owner_pid is None and was_cancelled(run)
    for run_id in (child, grandchild):
        run = store.run(run_id)
        assert run.state == 'failed' and was_cancelled(run)
        assert run.reason == 'the run was cancelled: its parent run root was cancelled'
    assert store.run(done).state == 'finished' and not was_cancelled(store.run(done))
    assert store.inbox([root, child, grandchild]) == []
    with pytest.raises(StoreError, match='nothing to resume'):
        store.claim(root)
    with pytest.raises(StoreError, match='failed: there is nothing to cancel'):
        store.send(root, 'cancel')


def test_cancelling_a_run_whose_holder_died_ends_it(store):
    run_id = store.create_run('Wf', '[]')
    store.release(run_id)
    ended = subprocess.Popen([sys.executable, '-c', 'pass'])
    ended.wait(PROMPT)
    host = store._host
    store._con.execute("UPDATE runs SET owner='gone', owner_pid=?, owner_host=?, "
                       "owner_start=1 WHERE id=?", (ended.pid, host, run_id))
    assert store.send(run_id, 'cancel') == 'cancelled'
    run = store.run(run_id)
    assert (run.state, run.reason, run.owner_pid) == ('failed', 'the run was cancelled', None)


def test_a_run_held_elsewhere_or_on_another_host_gets_the_cancellation_queued(path, store):
    run_id = store.create_run('Wf', '[]')
    store._con.execute("UPDATE runs SET owner='x', owner_pid=1, owner_host='elsewhere' "
                       "WHERE id=?", (run_id,))
    with SQLiteStore(path) as other:
        assert other.send(run_id, 'cancel', data='why') == 'queued'
    assert messages(store, run_id) == [(run_id, 'cancel', None, 'why')]
    assert store.run(run_id).state == 'running'


# -- what the history records -------------------------------------------------------------

def test_signals_and_cancellations_load_back_in_finish_order(path, store):
    run_id = store.create_run('Wf', '[]')
    with store.decision(run_id) as d:
        d.scheduled('a-0-0', 'a', 0, '[]')
        d.scheduled('b-1-0', 'b', 1, '[]')
        d.signalled('go', '"first"', at=10.0)
    with store.decision(run_id) as d:
        d.cancelled('a-0-0', 'a-0 was cancelled', at=11.0)
        d.signalled('stop', None)
        d.signalled('go', '"second"')
        d.completed('b-1-0', '2')
    expected = History()
    expected.scheduled('a-0-0', 0)
    expected.scheduled('b-1-0', 1)
    expected.signalled('go', '"first"')
    expected.cancelled('a-0-0', 'a-0 was cancelled')
    expected.signalled('stop', None)
    expected.signalled('go', '"second"')
    expected.completed('b-1-0', '2')
    with SQLiteStore(path) as reader:
        loaded = reader.load(run_id)
        history = loaded.history
        assert history.finished_since(0) == expected.finished_since(0) == [
            '@signal-go-0', 'a-0-0', '@signal-stop-0', '@signal-go-1', 'b-1-0']
        for key in expected.finished_since(0):
            got, want = history.get(key), expected.get(key)
            assert (got.state, got.data, got.reason, got.order, got.position) == (
                want.state, want.data, want.reason, want.order, want.position), key
        assert history.signals('go') == 2 and history.signals('stop') == 1
        assert loaded.pending == []
        calls = {call.key: call for call in reader.calls(run_id)}
    assert list(calls) == ['a-0-0', 'b-1-0', '@signal-go-0', '@signal-stop-0',
                           '@signal-go-1']
    assert (calls['a-0-0'].state, calls['a-0-0'].reason, calls['a-0-0'].finished) == (
        'cancelled', 'a-0 was cancelled', 11.0)
    signal_call = calls['@signal-go-0']
    assert (signal_call.dep, signal_call.state, signal_call.data, signal_call.order,
            signal_call.finished) == ('@signal', 'completed', '"first"', 0, 10.0)
    store.release(run_id)
    with SQLiteStore(path) as resumer:  # a resumed run goes on in finish order
        resumer.claim(run_id)
        with resumer.decision(run_id) as d:
            d.signalled('go', '3')
        assert resumer.load(run_id).history.get('@signal-go-2').order == 5


def test_timers_and_markers_are_calls_that_load_and_show(store):
    run_id = store.create_run('Wf', '[]')
    with store.decision(run_id) as d:
        d.scheduled('@sleep-0', '@sleep', 0, '60', at=1000.0)
        d.scheduled('@sleep-1', '@sleep', 1, '5', at=900.0)
        d.scheduled('@marker-0', '@marker', 2, '"phase"')
        d.completed('@marker-0', '"two"')
        d.scheduled('@now-0', '@now', 3, None)
        d.completed('@now-0', '1234.5')
    with store.decision(run_id) as d:
        d.completed('@sleep-1', None, at=905.0)
    loaded = store.load(run_id)
    assert [(call.key, call.dep, call.input, call.started) for call in loaded.pending] == [
        ('@sleep-0', '@sleep', '60', 1000.0)]
    assert loaded.history.get('@marker-0').data == '"two"'
    assert loaded.history.get('@now-0').data == '1234.5'
    assert loaded.history.positions() == [(0, '@sleep-0'), (1, '@sleep-1'), (2, '@marker-0'),
                                          (3, '@now-0')]
    calls = {call.key: call for call in store.calls(run_id)}
    assert (calls['@sleep-1'].state, calls['@sleep-1'].duration) == ('completed', 5.0)
    assert calls['@sleep-0'].state == 'running'
