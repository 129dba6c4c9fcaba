"""The SQLite run store: schema, refusals, exact history round trips, claims, transactions.

Every subprocess here is bounded by a timeout; nothing sleeps.
"""

import gc
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waiting import PROMPT, process_gone

from flowy.history import History
from flowy.local.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    ClaimError,
    RecordedError,
    SQLiteStore,
    StoreError,
    open_store,
)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'runs.db')


@pytest.fixture
def store(path):
    with SQLiteStore(path) as store:
        yield store


def pragma(path, name):
    con = sqlite3.connect(path)
    try:
        return con.execute('PRAGMA %s' % name).fetchone()[0]
    finally:
        con.close()


def content(path):
    with open(path, 'rb') as stream:
        return stream.read()


# -- opening ------------------------------------------------------------------------------

def test_a_new_file_gets_the_marked_versioned_schema_in_wal_mode(path):
    SQLiteStore(path).close()
    assert pragma(path, 'application_id') == APPLICATION_ID
    assert pragma(path, 'user_version') == SCHEMA_VERSION == 2
    assert pragma(path, 'journal_mode') == 'wal'
    con = sqlite3.connect(path)
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert {'runs', 'records', 'inbox'} <= tables


@pytest.mark.parametrize('durability, level', [('normal', 1), ('fsync', 2)])
def test_durability_sets_synchronous(path, durability, level):
    with SQLiteStore(path, durability) as store:
        assert store._con.execute('PRAGMA synchronous').fetchone()[0] == level


def test_durability_must_be_known(path):
    with pytest.raises(ValueError, match="'normal'.*'fsync'"):
        SQLiteStore(path, durability='sometimes')
    assert not os.path.exists(path)


def test_runs_survive_reopening(path):
    with SQLiteStore(path) as store:
        run_id = store.create_run('Nightly', '[[1], {}]', run_id='nightly-2026-12-03')
        with store.decision(run_id) as d:
            d.scheduled('square-0-0', 'square', 0, '[[1], {}]')
            d.finish('1')
    with SQLiteStore(path) as store:
        run = store.run('nightly-2026-12-03')
        assert (run.workflow, run.input, run.state, run.result) == (
            'Nightly', '[[1], {}]', 'finished', '1')
        assert [call.key for call in store.calls(run_id)] == ['square-0-0']


def test_an_empty_file_becomes_a_store(path):
    open(path, 'w').close()
    with SQLiteStore(path) as store:
        assert store.runs() == []
    assert pragma(path, 'application_id') == APPLICATION_ID


def test_open_store_takes_a_path_or_a_store(path):
    assert open_store(None) is None
    with open_store(path) as store:
        assert isinstance(store, SQLiteStore) and store.path == path
        assert open_store(store) is store


def refused(path, *fragments):
    """Opening ``path`` raises StoreError naming it and saying why; the file is untouched."""
    before = content(path) if os.path.isfile(path) else None
    with pytest.raises(StoreError) as info:
        SQLiteStore(path)
    message = str(info.value)
    assert path in message
    for fragment in fragments:
        assert fragment in message
    if before is not None:
        assert content(path) == before
    return message


def test_refuses_a_file_that_is_not_sqlite(path):
    with open(path, 'w') as stream:
        stream.write('name,value\n' * 50)
    refused(path, 'not an SQLite database')


def test_refuses_another_applications_sqlite_database(path):
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE accounts (id INTEGER, balance REAL)')
    con.execute('INSERT INTO accounts VALUES (1, 10.5)')
    con.commit()
    con.close()
    refused(path, 'another application')
    assert not os.path.exists(path + '-wal')


def test_refuses_a_newer_schema(path):
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute('PRAGMA user_version=%d' % (SCHEMA_VERSION + 1))
    con.close()
    refused(path, 'schema version %d is newer' % (SCHEMA_VERSION + 1), 'upgrade flowy')


def test_refuses_a_directory(tmp_path):
    refused(str(tmp_path), 'directory')


def filled(path, runs=150):
    with SQLiteStore(path) as store:
        for _ in range(runs):
            run_id = store.create_run('Wf', 'x' * 200)
            with store.decision(run_id) as d:
                for call in range(5):
                    d.scheduled('c-%d-0' % call, 'c', call, 'y' * 300)
                d.finish('done')
    con = sqlite3.connect(path)
    con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    con.close()
    return os.path.getsize(path)


@pytest.mark.parametrize('keep', [0.5, 4096, 1000, 60])
def test_refuses_a_truncated_database(path, keep):
    size = filled(path)
    with open(path, 'r+b') as stream:
        stream.truncate(int(size * keep) if keep < 1 else keep)
    refused(path, 'corrupt')


def test_refuses_a_garbled_database(path):
    filled(path)
    with open(path, 'r+b') as stream:
        stream.seek(100)  # just past the header: the schema's page
        stream.write(b'\xa5' * 4000)
    refused(path, 'corrupt')


@pytest.mark.parametrize('table', ['runs', 'records', 'inbox'])
def test_refuses_a_database_with_a_garbled_table(path, table):
    filled(path)
    con = sqlite3.connect(path)
    page_size = con.execute('PRAGMA page_size').fetchone()[0]
    root = con.execute('SELECT rootpage FROM sqlite_master WHERE name=?', (table,)).fetchone()[0]
    con.close()
    with open(path, 'r+b') as stream:
        stream.seek((root - 1) * page_size)
        stream.write(b'\xa5' * page_size)
    refused(path, 'corrupt')


def test_check_finds_damage_that_opening_does_not_read(path):
    size = filled(path)
    con = sqlite3.connect(path)
    page_size = con.execute('PRAGMA page_size').fetchone()[0]
    roots = {row[0] for row in con.execute('SELECT rootpage FROM sqlite_master')}
    con.close()
    page = size // page_size  # the last page: a leaf, read by no opening probe
    assert page not in roots
    with open(path, 'r+b') as stream:
        stream.seek((page - 1) * page_size)
        stream.write(b'\x5a' * page_size)
    with SQLiteStore(path) as store:
        with pytest.raises(StoreError, match='corrupt') as info:
            store.check()
        assert path in str(info.value)


def test_check_passes_a_sound_store(store):
    store.create_run('Wf', '[]')
    store.check()


# -- exact round trips of histories -------------------------------------------------------

@st.composite
def histories(draw):
    """Random events as an engine records them: scheduled calls, outcomes in any order."""
    events, running, position, known = [], [], 0, set()
    for _ in range(draw(st.integers(0, 30))):
        choice = draw(st.sampled_from(['call', 'retry', 'outcome', 'outcome', 'fail_early',
                                       'signal', 'cancel']))
        if choice == 'retry' and known:
            # A later attempt of a call: same position, next attempt number.
            dep, number, attempt, at = draw(st.sampled_from(sorted(known)))
            key = '%s-%d-%d' % (dep, number, attempt + 1)
            if any(key == event[1] for event in events):
                continue
            known.add((dep, number, attempt + 1, at))
            events.append(('scheduled', key, dep, at, draw(st.text(max_size=8)),
                           draw(st.lists(st.sampled_from(['a-0-0', 'b-1-0']), max_size=2))))
            running.append(key)
        elif choice == 'signal':
            events.append(('signalled', draw(st.sampled_from(['go', 'stop'])),
                           draw(st.one_of(st.none(), st.text(max_size=10)))))
        elif choice == 'cancel' and running:
            key = running.pop(draw(st.integers(0, len(running) - 1)))
            events.append(('cancelled', key, draw(st.one_of(st.none(), st.text(max_size=10)))))
        elif choice == 'outcome' and running:
            key = running.pop(draw(st.integers(0, len(running) - 1)))
            state = draw(st.sampled_from(['completed', 'failed', 'timedout']))
            events.append((state, key, draw(st.one_of(st.none(), st.text(max_size=10))),
                           draw(st.one_of(st.none(), st.text(min_size=1, max_size=20)))))
        elif choice == 'fail_early':
            dep = draw(st.sampled_from('ab'))
            key = '%s-%d-0' % (dep, position)
            events.append(('failed_early', key, dep, position,
                           draw(st.text(max_size=10)), draw(st.text(max_size=20))))
            position += 1
        else:
            dep = draw(st.sampled_from('ab'))
            at = draw(st.one_of(st.none(), st.just(position)))
            key = '%s-%d-0' % (dep, position)
            position += 1
            known.add((dep, position - 1, 0, at))
            events.append(('scheduled', key, dep, at, draw(st.text(max_size=8)),
                           draw(st.lists(st.sampled_from(['a-0-0', 'b-1-0']), max_size=2))))
            running.append(key)
    cuts = draw(st.lists(st.integers(0, len(events)), max_size=5))
    return events, sorted(set(cuts))


def replay_into(history, writer, event):
    kind, key = event[:2]
    if kind == 'scheduled':
        _, _, dep, at, data, depends_on = event
        history.scheduled(key, at)
        writer.scheduled(key, dep, at, data, depends_on)
    elif kind == 'completed':
        history.completed(key, event[2])
        writer.completed(key, event[2])
    elif kind == 'failed':
        reason, text = event[3] or 'failed', event[2]
        history.failed(key, reason, None if text is None else RecordedError(text))
        writer.failed(key, reason, text)
    elif kind == 'timedout':
        reason = event[3] or 'the task timed out'
        history.timed_out(key, reason)
        writer.timed_out(key, reason)
    elif kind == 'signalled':
        history.signalled(key, event[2])  # key: the signal's name
        writer.signalled(key, event[2])
    elif kind == 'cancelled':
        history.cancelled(key, event[2])
        writer.cancelled(key, history.get(key).reason)
    else:
        _, _, dep, at, reason, text = event
        history.failed(key, reason, RecordedError(text), at)
        writer.failed(key, reason, text, position=at)


def same_history(loaded, expected):
    assert list(loaded._outcomes) == list(expected._outcomes)
    for key, outcome in expected._outcomes.items():
        got = loaded.get(key)
        assert (got.state, got.position, got.data, got.reason, got.order) == (
            outcome.state, outcome.position, outcome.data, outcome.reason, outcome.order), key
        assert (None if got.cause is None else got.cause.text) == (
            None if outcome.cause is None else outcome.cause.text), key
    assert loaded._calls_at == expected._calls_at
    assert loaded.finished_since(0) == expected.finished_since(0)
    assert loaded.positions() == expected.positions()
    assert loaded._signals == expected._signals


@settings(max_examples=60, deadline=None)
@given(histories())
def test_a_saved_history_loads_back_exactly(tmp_path_factory, drawn):
    events, cuts = drawn
    path = str(tmp_path_factory.mktemp('roundtrip') / 'runs.db')
    expected = History()
    scheduled = {}
    with SQLiteStore(path) as store:
        run_id = store.create_run('Random', '[[], {}]')
        bounds = [0] + cuts + [len(events)]
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):  # one commit each
            with store.decision(run_id) as writer:
                for event in events[start:end]:
                    replay_into(expected, writer, event)
                    if event[0] == 'scheduled':
                        scheduled[event[1]] = event
    with SQLiteStore(path) as store:  # a fresh object reads only the file
        loaded = store.load(run_id)
        same_history(loaded.history, expected)
        running = [key for key, outcome in expected._outcomes.items()
                   if outcome.state == 'running']
        assert [call.key for call in loaded.pending] == running
        for call in loaded.pending:
            _, key, dep, at, data, depends_on = scheduled[call.key]
            assert (call.dep, call.position, call.input, call.depends_on) == (
                dep, at, data, tuple(depends_on))
        assert sorted(call.key for call in store.calls(run_id)) == sorted(expected._outcomes)
        # Resuming goes on where the history ended: the next outcome gets the next order.
        store.claim(run_id)
        with store.decision(run_id) as writer:
            writer.failed('z-99-0', 'late', position=99)
        expected.failed('z-99-0', 'late', None, 99)
        same_history(store.load(run_id).history, expected)


def test_calls_show_their_timings(store):
    run_id = store.create_run('Wf', '[]')
    with store.decision(run_id) as d:
        d.scheduled('a-0-0', 'a', 0, '[[1], {}]', at=100.0)
        d.scheduled('b-1-0', 'b', 1, '[[2], {}]', depends_on=('a-0-0',))
    with store.decision(run_id) as d:
        d.completed('a-0-0', '1', at=102.5)
    a, b = store.calls(run_id)
    assert (a.key, a.state, a.data, a.order) == ('a-0-0', 'completed', '1', 0)
    assert (a.started, a.finished, a.duration) == (100.0, 102.5, 2.5)
    assert (b.key, b.state, b.depends_on, b.finished, b.duration) == (
        'b-1-0', 'running', ('a-0-0',), None, None)
    assert b.started >= store.run(run_id).created  # the time of its commit


def test_failures_keep_their_traceback_text(store):
    run_id = store.create_run('Wf', '[]')
    try:
        raise ValueError('bad input')
    except ValueError as exc:
        error = exc
    with store.decision(run_id) as d:
        d.scheduled('parse-0-0', 'parse', 0, '[]')
        d.failed('parse-0-0', 'bad input', error)
        d.fail('bad input', error)
    cause = store.load(run_id).history.get('parse-0-0').cause
    assert isinstance(cause, RecordedError)
    assert 'Traceback' in cause.text and 'ValueError: bad input' in cause.text
    (call,) = store.calls(run_id)
    assert call.state == 'failed' and call.traceback == cause.text
    assert call.duration is not None and call.duration >= 0
    run = store.run(run_id)
    assert (run.state, run.reason) == ('failed', 'bad input')
    assert 'ValueError: bad input' in run.traceback


# -- transactions -------------------------------------------------------------------------

def test_an_exception_inside_a_decision_commits_nothing(store):
    run_id = store.create_run('Wf', '[]')
    with pytest.raises(RuntimeError):
        with store.decision(run_id) as d:
            d.scheduled('a-0-0', 'a', 0, '[]')
            d.child('w-1-0', 'Child', '[]')
            d.finish('1')
            raise RuntimeError('the engine broke')
    assert store.calls(run_id) == []
    assert store.runs(children=True) == [store.run(run_id)]
    assert store.run(run_id).state == 'running'
    with store.decision(run_id) as d:  # the counters did not move either
        d.scheduled('a-0-0', 'a', 0, '[]')
        d.completed('a-0-0', '5')
    assert store.load(run_id).history.get('a-0-0').order == 0


def test_a_refused_commit_writes_nothing_and_the_store_goes_on(store):
    run_id = store.create_run('Wf', '[]', run_id='taken')
    with pytest.raises(StoreError, match='a run id is used once'):
        with store.decision(run_id) as d:
            d.scheduled('b-1-0', 'b', 1, '[]')
            d.child('w-2-0', 'Child', '[]', run_id='taken')
    assert store.calls(run_id) == []
    assert [run.id for run in store.runs(children=True)] == ['taken']
    with store.decision(run_id) as d:
        d.scheduled('b-1-0', 'b', 1, '[]')
        d.completed('b-1-0', '3')
    assert store.load(run_id).history.finished_since(0) == ['b-1-0']


def test_an_inconsistent_history_is_reported_not_loaded(path, store):
    run_id = store.create_run('Wf', '[]', run_id='twice')
    with store.decision(run_id) as d:
        d.scheduled('a-0-0', 'a', 0, '[]')
        d.completed('a-0-0', '1')
    with store.decision(run_id) as d:
        d.completed('a-0-0', '2')  # the engine never does this; a damaged file might
    with pytest.raises(StoreError, match='history of run twice is inconsistent') as info:
        store.load(run_id)
    assert path in str(info.value)
    store._con.execute("UPDATE records SET events='[[' WHERE seq=2")
    with pytest.raises(StoreError, match='records of run twice cannot be read'):
        store.calls(run_id)


def test_a_committed_decision_is_freed_at_once_not_by_the_garbage_collector(store):
    run_id = store.create_run('Wf', '[]')
    gc.disable()  # a reference cycle would keep them until the next collection
    try:
        decision = store.decision(run_id)
        with decision as writer:
            writer.scheduled('a-0-0', 'a', 0, '[]')
        freed = weakref.ref(decision)
        del decision, writer
        assert freed() is None
    finally:
        gc.enable()
    assert [call.key for call in store.calls(run_id)] == ['a-0-0']


def test_one_transaction_holds_several_runs(store):
    first, second = store.create_run('A', '[]'), store.create_run('B', '[]')
    with pytest.raises(KeyError):
        with store.transaction() as tx:
            tx.run(first).scheduled('a-0-0', 'a', 0, '[]')
            tx.run(second).scheduled('b-0-0', 'b', 0, '[]')
            raise KeyError('no')
    assert store.calls(first) == store.calls(second) == []
    with store.transaction() as tx:
        tx.run(first).scheduled('a-0-0', 'a', 0, '[]')
        tx.run(second).finish('2')
    assert [call.key for call in store.calls(first)] == ['a-0-0']
    assert store.run(second).state == 'finished'


def test_a_closed_store_says_so(path):
    store = SQLiteStore(path)
    run_id = store.create_run('Wf', '[]')
    store.close()
    with pytest.raises(StoreError, match='closed'):
        store.run(run_id)
    with pytest.raises(StoreError, match='closed'):
        store.check()
    with SQLiteStore(path) as other:  # closing released the claim
        assert other.claim(run_id).owner_pid == os.getpid()


# -- claims -------------------------------------------------------------------------------

def test_a_second_store_object_cannot_claim_a_held_run(path, store):
    run_id = store.create_run('Wf', '[]', run_id='nightly')
    with SQLiteStore(path) as other:
        with pytest.raises(ClaimError) as info:
            other.claim(run_id)
        message = str(info.value)
        assert 'nightly' in message and str(os.getpid()) in message and path in message
        with pytest.raises(ClaimError, match='claim it first'):
            with other.decision(run_id) as d:
                d.scheduled('a-0-0', 'a', 0, '[]')
        store.release(run_id)
        assert other.claim(run_id).state == 'running'
        with pytest.raises(ClaimError):
            store.claim(run_id)


def test_closing_releases_claims_and_a_taken_over_run_refuses_the_old_holder(path, store):
    run_id = store.create_run('Wf', '[]')
    with SQLiteStore(path) as other:
        other.claim(run_id, takeover=True)
        with pytest.raises(ClaimError, match='no longer held'):
            with store.decision(run_id) as d:
                d.scheduled('a-0-0', 'a', 0, '[]')
        assert other.calls(run_id) == []
        assert not store.holds(run_id)
        with other.decision(run_id) as d:
            d.scheduled('b-0-0', 'b', 0, '[]')
        assert [call.key for call in store.calls(run_id)] == ['b-0-0']
    with SQLiteStore(path) as third:  # other closed: its claim is gone
        third.claim(run_id)


def test_ended_runs_release_their_claim_and_cannot_be_claimed(path, store):
    run_id = store.create_run('Wf', '[]')
    with store.decision(run_id) as d:
        d.finish('7')
    assert not store.holds(run_id)
    assert store.run(run_id).owner_pid is None
    with SQLiteStore(path) as other:
        with pytest.raises(StoreError, match='finished: there is nothing to resume'):
            other.claim(run_id)
        with pytest.raises(StoreError, match='no run missing'):
            other.claim('missing')


def test_an_interrupted_run_can_be_claimed_again(path, store):
    run_id = store.create_run('Wf', '[]')
    with store.decision(run_id) as d:
        d.interrupt()
    assert store.run(run_id).state == 'interrupted'
    with SQLiteStore(path) as other:
        assert other.claim(run_id).state == 'running'
        assert other.run(run_id).state == 'running'


HOLDER = textwrap.dedent('''
    import sys
    from flowy.local.store import SQLiteStore
    store = SQLiteStore(sys.argv[1])
    store.claim(sys.argv[2])
    print('held', flush=True)
    sys.stdin.readline()  # until the test closes our stdin, or kills us
''')


def said(process):
    """The next line ``process`` prints, waiting for it at most PROMPT seconds."""
    ready, _, _ = select.select([process.stdout], [], [], PROMPT)
    assert ready, 'the subprocess said nothing within %d s' % PROMPT
    return process.stdout.readline().strip()


@pytest.fixture
def holder(path, store):
    """A run held by a live subprocess; yields (run id, process)."""
    run_id = store.create_run('Wf', '[]')
    store.release(run_id)
    process = subprocess.Popen([sys.executable, '-c', HOLDER, path, run_id],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert said(process) == 'held'
        yield run_id, process
    finally:
        process.kill()
        process.communicate(timeout=PROMPT)


def test_a_run_held_by_a_live_process_is_refused_naming_it(store, holder):
    run_id, process = holder
    with pytest.raises(ClaimError) as info:
        store.claim(run_id)
    assert run_id in str(info.value) and 'process %d' % process.pid in str(info.value)


def test_a_claim_of_a_process_that_is_gone_is_taken_over(store, holder):
    run_id, process = holder
    process.kill()
    process.communicate(timeout=PROMPT)
    assert process_gone(process.pid)
    assert store.claim(run_id).owner_pid == os.getpid()
    with store.decision(run_id) as d:
        d.scheduled('a-0-0', 'a', 0, '[]')


def test_a_reused_pid_does_not_keep_a_claim_alive(store, holder):
    run_id, process = holder
    # The holder's pid is alive, but the claim says it started at another time.
    store._con.execute('UPDATE runs SET owner_start=owner_start+1 WHERE id=?', (run_id,))
    assert store.claim(run_id).owner_pid == os.getpid()


def test_a_claim_from_another_host_is_never_presumed_stale(store):
    run_id = store.create_run('Wf', '[]')
    store._con.execute("UPDATE runs SET owner='x', owner_pid=1, owner_host='elsewhere' "
                       "WHERE id=?", (run_id,))
    with pytest.raises(ClaimError, match='elsewhere'):
        store.claim(run_id)
    assert store.claim(run_id, takeover=True).owner_host != 'elsewhere'


KILLED = textwrap.dedent('''
    import sys
    from flowy.local.store import SQLiteStore
    store = SQLiteStore(sys.argv[1], sys.argv[2])
    run_id = store.create_run('Wf', '[[5], {}]', run_id='killed')
    with store.decision(run_id) as d:
        d.scheduled('a-0-0', 'a', 0, '[[5], {}]')
        d.scheduled('b-1-0', 'b', 1, '[[6], {}]')
    with store.decision(run_id) as d:
        d.completed('a-0-0', '25')
    print('committed', flush=True)
    sys.stdin.readline()
''')


@pytest.mark.parametrize('durability', ['normal', 'fsync'])
def test_committed_decisions_survive_a_killed_process(path, durability):
    process = subprocess.Popen([sys.executable, '-c', KILLED, path, durability],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert said(process) == 'committed'
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=PROMPT)
    with SQLiteStore(path, durability) as store:
        assert store.claim('killed').state == 'running'  # its holder is gone
        loaded = store.load('killed')
        assert loaded.history.get('a-0-0').data == '25'
        assert [(call.key, call.input) for call in loaded.pending] == [('b-1-0', '[[6], {}]')]


# -- children, restarts, repair, listing ----------------------------------------------------

def test_children_and_restarts_are_recorded_and_listed(path, store):
    root = store.create_run('Parent', '[[1], {}]', run_id='root')
    with store.decision(root) as d:
        d.scheduled('child-0-0', 'child', 0, '[[2], {}]')
        child = d.child('child-0-0', 'Child', '[[2], {}]')
    assert child == 'root/child-0-0'
    with store.decision(child) as d:
        again = d.restart('Child', '[[3], {}]')
    with store.decision(again) as d:
        d.finish('9')
    with store.decision(root) as d:
        d.completed('child-0-0', '9')
        successor = d.restart('Parent', '[[4], {}]')
    with store.decision(successor) as d:
        d.finish('10')
    with SQLiteStore(path) as reader:
        assert [run.id for run in reader.runs()] == ['root', successor]
        assert [(run.id, run.state) for run in reader.runs(parent='root')] == [
            (child, 'restarted'), (again, 'finished')]
        assert len(reader.runs(children=True)) == 4
        assert [run.id for run in reader.runs(state='restarted', children=True)] == [
            'root', child]
        latest = reader.child('root', 'child-0-0')
        assert (latest.id, latest.predecessor, latest.parent_key) == (
            again, child, 'child-0-0')
        assert reader.successor('root').id == successor
        assert reader.successor(successor) is None
        assert reader.run(successor).predecessor == 'root'
        assert reader.child('root', 'other-1-0') is None


def test_repair_reads_the_completed_outcomes_of_a_failed_run(store):
    old = store.create_run('Wf', '[]')
    with store.decision(old) as d:
        for number in range(3):
            d.scheduled('a-%d-0' % number, 'a', number, '[%d]' % number)
        d.completed('a-0-0', '0')
        d.failed('a-1-0', 'boom')
        d.fail('boom')
    new = store.create_run('Wf', '[]', repair_of=old)
    assert store.completed(old) == {'a-0-0': '0'}
    assert store.run(new).repair_of == old
    assert store.completed(new) == {}


def test_generated_ids_name_the_workflow(store):
    run_id = store.create_run('Outer.<locals>.Inner', '[]')
    assert run_id.startswith('Outer._locals_.Inner-')
    assert run_id != store.create_run('Outer.<locals>.Inner', '[]')


def test_a_copy_of_a_store_file_is_a_store(path, tmp_path):
    filled(path, runs=2)
    copy = str(tmp_path / 'copy.db')
    shutil.copy(path, copy)
    with SQLiteStore(copy) as store:
        assert len(store.runs()) == 2
