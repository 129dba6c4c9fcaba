"""Durable runs: a LocalWorkflow with a run store records, finishes, fails and resumes."""

import collections
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import flowy
from flowy import LocalWorkflow, TaskError
from flowy.errors import NondeterminismError
from flowy.local.store import ClaimError, RecordedError, SQLiteStore

REPO = os.path.dirname(os.path.dirname(os.path.abspath(flowy.__file__)))

# Activities on threads: SIGKILL from an activity kills the whole run, as a crash would.
MODULE = textwrap.dedent('''
    import json, os, signal, sys, time
    from concurrent.futures import ThreadPoolExecutor
    from flowy import LocalWorkflow, restart

    DIR = os.environ['DURABLE_DIR']

    def _log(name, args):
        with open(os.path.join(DIR, 'log'), 'a') as stream:
            stream.write(json.dumps([name, list(args)]) + '\\n')

    def _maybe_stop(name, args):
        if [name, list(args)] != json.loads(os.environ.get('DURABLE_KILL', 'null')):
            return
        marker = os.path.join(DIR, 'killed')
        if not os.path.exists(marker):
            open(marker, 'w').close()
            os.kill(os.getpid(), signal.SIGKILL)

    def square(x):
        _log('square', [x])
        time.sleep(0.02)
        _maybe_stop('square', [x])
        return x * x

    def add(a, b):
        _log('add', [a, b])
        time.sleep(0.02)
        _maybe_stop('add', [a, b])
        gate = os.path.join(DIR, 'gate')
        if os.environ.get('DURABLE_GATE'):
            while not os.path.exists(gate):
                time.sleep(0.01)
        return a + b

    def cube(x):
        _log('cube', [x])
        return x * x * x

    class SumSquares:
        def __init__(self, square, add, cube):
            self.square, self.add, self.cube = square, add, cube

        def __call__(self, n):
            first = self.cube if os.environ.get('DURABLE_CHANGED') else self.square
            squares = [first(0)] + [self.square(i) for i in range(1, n)]
            acc = squares[0]
            for value in squares[1:]:
                acc = self.add(acc, value)
            return acc

    class Countdown:
        def __init__(self, square, add, cube):
            self.square, self.add = square, add

        def __call__(self, n, acc=0):
            total = self.add(acc, self.square(n))
            if n:
                return restart(n - 1, total + 0)
            return total

    class Parent:
        def __init__(self, square, add, cube, child):
            self.square, self.add, self.child = square, add, child

        def __call__(self, n):
            return self.add(self.child(n), self.square(n))

    def workflow(driver, store, factory='SumSquares'):
        w = LocalWorkflow(globals()[factory], activity_workers=2,
                          executor=ThreadPoolExecutor, driver=driver, store=store)
        w.conf_activity('square', square)
        w.conf_activity('add', add)
        w.conf_activity('cube', cube)
        if factory == 'Parent':
            w.conf_workflow('child', workflow(driver, None))
        return w

    if __name__ == '__main__':
        driver, store, run_id, factory = (sys.argv[1:] + ['SumSquares'])[:4]
        n = 5 if factory == 'Countdown' else 6
        try:
            print(json.dumps(workflow(driver, store, factory).run(n, _id=run_id)))
        except Exception as exc:
            print(json.dumps([type(exc).__name__, str(exc),
                              type(exc.__cause__).__name__]))
''')

EXPECTED = sum(i * i for i in range(6))
CALLS = 6 + 5  # squares, then the adds


@pytest.fixture
def durable(tmp_path, monkeypatch):
    (tmp_path / 'durable_wf.py').write_text(MODULE)
    monkeypatch.setenv('DURABLE_DIR', str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop('durable_wf', None)
    import durable_wf
    yield durable_wf
    sys.modules.pop('durable_wf', None)


def _start(tmp_path, driver, run_id, factory='SumSquares', **env):
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, str(tmp_path)]),
                   DURABLE_DIR=str(tmp_path))
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, str(tmp_path / 'durable_wf.py'), driver, str(tmp_path / 'runs.db'),
         run_id, factory], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(tmp_path, driver, run_id, factory='SumSquares', **env):
    process = _start(tmp_path, driver, run_id, factory, **env)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _executions(tmp_path):
    path = tmp_path / 'log'
    if not path.exists():
        return []
    return [tuple(map(json.dumps, json.loads(line))) for line in path.read_text().splitlines()]


def _wait_until_add_ran(tmp_path, process, within=60):
    """Wait (bounded) until the subprocess's workflow has run its ``add`` activity.

    The other process can only be watched through its execution log, so this looks at
    the file every few milliseconds; the order comes from the file, not from timing.
    """
    deadline = time.monotonic() + within
    while not any(name == '"add"' for name, _ in _executions(tmp_path)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, 'add did not run within %d s' % within
        time.sleep(0.02)


def _recorded_outcomes(tmp_path, run_id=None):
    with SQLiteStore(tmp_path / 'runs.db') as store:
        ids = [run_id] if run_id else [run.id for run in store.runs(children=True)]
        return [(json.dumps(call.dep), json.dumps(json.loads(call.input)[0]))
                for one in ids for call in store.calls(one) if call.state == 'completed']


def _killed_then_resumed(tmp_path, driver, kill, factory='SumSquares', recorded_of=None):
    """Run ``factory`` as 'job' until it kills itself at ``kill``, then resume it.

    Returns the resumed run's result, the outcomes recorded before the resume (of run
    ``recorded_of``, or of every run), and the executions before and after it.
    """
    env = {'DURABLE_KILL': json.dumps(kill)}
    code, out, err = _run(tmp_path, driver, 'job', factory, **env)
    assert code == -9, (out, err)
    before = collections.Counter(_executions(tmp_path))
    recorded = _recorded_outcomes(tmp_path, recorded_of)
    code, out, err = _run(tmp_path, driver, 'job', factory, **env)
    assert code == 0, err
    after = collections.Counter(_executions(tmp_path)) - before
    for call in recorded:
        assert after[call] == 0, '%s ran again although its outcome was recorded' % (call,)
    return json.loads(out), recorded, before, after


@pytest.mark.parametrize('driver', ['cached', 'replay'])
@pytest.mark.parametrize('kill', [['square', [4]], ['add', [14, 16]]])
def test_a_killed_run_resumes_and_runs_only_the_calls_without_a_recorded_outcome(
        tmp_path, durable, driver, kill):
    result, recorded, before, after = _killed_then_resumed(tmp_path, driver, kill,
                                                           recorded_of='job')
    assert (tmp_path / 'killed').exists()
    assert recorded  # decisions were committed before the crash
    assert result == EXPECTED
    everything = before + after
    assert len(everything) == CALLS
    assert all(count <= 2 for count in everything.values())
    # The id now holds the result: asking again runs nothing.
    code, out, err = _run(tmp_path, driver, 'job')
    assert code == 0, err
    assert json.loads(out) == EXPECTED
    assert collections.Counter(_executions(tmp_path)) == everything


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_finished_or_failed_id_answers_from_the_store_without_running(
        tmp_path, durable, driver):
    store = str(tmp_path / 'runs.db')
    w = durable.workflow(driver, store)
    assert w.run(6, _id='one') == EXPECTED
    count = len(_executions(tmp_path))
    assert count == CALLS
    assert w.run(6, _id='one') == EXPECTED
    assert durable.workflow(driver, store).run(_id='one') == EXPECTED
    assert len(_executions(tmp_path)) == count
    with pytest.raises(ValueError, match='other arguments'):
        w.run(5, _id='one')



CALLED = collections.Counter()


def picky(x):
    return int(x)


class Catches:
    def __init__(self, picky):
        self.picky = picky

    def __call__(self, x):
        try:
            return flowy.wait(self.picky(x))
        except TaskError as exc:
            return [str(exc), exc.key, exc.type_name, exc.reason]


@pytest.mark.parametrize('executor', ['threads', 'processes'])
def test_a_failure_read_back_from_the_store_has_its_type_and_traceback(tmp_path, executor):
    from concurrent.futures import ProcessPoolExecutor

    from flowy.drivers.calls import failed_error

    path = tmp_path / 'runs.db'
    w = LocalWorkflow(Catches, store=path, executor=ThreadPoolExecutor if executor == 'threads'
                      else ProcessPoolExecutor)
    w.conf_activity('picky', picky)
    text = "picky-0-0 failed: ValueError: invalid literal for int() with base 10: 'three'"
    with w:
        assert w.run('three', _id='caught') == [text, 'picky-0-0', 'ValueError',
                                                "invalid literal for int() with base 10: "
                                                "'three'"]
    with SQLiteStore(path) as store:
        [call] = store.calls('caught')
        assert (call.state, call.type_name) == ('failed', 'ValueError')
        assert call.traceback.startswith('Traceback (most recent call last):')
        assert '    return int(x)' in call.traceback  # the worker's, not the parent's
        history = store.load('caught').history
    error = failed_error('picky-0-0', history.get('picky-0-0'))  # what a resumed body sees
    assert (str(error), error.type_name, error.traceback) == (text, 'ValueError',
                                                              call.traceback)


def boom(x):
    CALLED['boom'] += 1
    raise RuntimeError('boom %s' % x)


class Fails:
    def __init__(self, boom):
        self.boom = boom

    def __call__(self, x):
        return self.boom(x) + 1


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_failed_id_raises_the_recorded_error_without_running(tmp_path, driver):
    CALLED.clear()
    w = LocalWorkflow(Fails, executor=ThreadPoolExecutor, driver=driver,
                      store=tmp_path / 'runs.db')
    w.conf_activity('boom', boom)
    with pytest.raises(TaskError, match='^boom-0-0 failed: RuntimeError: boom 3$'):
        w.run(3, _id='bad')
    assert CALLED['boom'] == 1
    with pytest.raises(TaskError, match='^boom-0-0 failed: RuntimeError: boom 3$') as info:
        w.run(3, _id='bad')
    assert isinstance(info.value.__cause__, RecordedError)
    assert 'RuntimeError: boom 3' in str(info.value.__cause__)
    # the recorded traceback is the activity's own
    assert "raise RuntimeError('boom %s' % x)" in info.value.traceback
    assert CALLED['boom'] == 1
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert store.run('bad').state == 'failed'
        assert [call.state for call in store.calls('bad')] == ['failed']


def test_a_run_without_id_gets_a_new_one_logged(tmp_path, durable, caplog):
    w = durable.workflow('cached', str(tmp_path / 'runs.db'))
    with caplog.at_level('INFO', logger='flowy'):
        assert w.run(6) == EXPECTED
        assert w.run(6) == EXPECTED
    with SQLiteStore(tmp_path / 'runs.db') as store:
        runs = store.runs()
    assert [run.state for run in runs] == ['finished', 'finished']
    assert runs[0].id != runs[1].id
    for run in runs:
        assert run.id in caplog.text
        assert run.result == str(EXPECTED)
    assert len(_executions(tmp_path)) == 2 * CALLS


def test_an_id_without_a_store_is_a_usage_error(durable):
    w = durable.workflow('cached', None)
    with pytest.raises(ValueError, match='run store'):
        w.run(6, _id='job')


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_second_process_cannot_resume_a_run_the_first_one_drives(tmp_path, durable, driver):
    process = _start(tmp_path, driver, 'held', DURABLE_GATE='1')
    try:
        _wait_until_add_ran(tmp_path, process)
        w = durable.workflow(driver, str(tmp_path / 'runs.db'))
        with pytest.raises(ClaimError, match='held.*is being run by process %d' % process.pid):
            w.run(6, _id='held')
        with pytest.raises(ClaimError, match='held.*is being run by process %d' % process.pid):
            w.repair('held')  # it would run the same calls again, at the same time
        (tmp_path / 'gate').touch()
        out, err = process.communicate(timeout=120)
    finally:
        (tmp_path / 'gate').touch()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert json.loads(out) == EXPECTED
    count = len(_executions(tmp_path))
    assert w.run(6, _id='held') == EXPECTED
    assert len(_executions(tmp_path)) == count


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_resuming_with_changed_code_fails_with_nondeterminism(tmp_path, durable, driver):
    code, out, err = _run(tmp_path, driver, 'job', DURABLE_KILL=json.dumps(['add', [0, 1]]))
    assert code == -9, (out, err)
    code, out, err = _run(tmp_path, driver, 'job', DURABLE_CHANGED='1')
    assert code == 0, err
    kind, message, cause = json.loads(out)
    assert (kind, cause) == ('TaskError', 'NondeterminismError')
    assert 'cube' in message and 'square' in message
    assert NondeterminismError.__name__ == cause
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert store.run('job').state == 'failed'


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_child_workflows_are_recorded_as_runs_of_their_own(tmp_path, durable, driver):
    w = durable.workflow(driver, str(tmp_path / 'runs.db'), 'Parent')
    assert w.run(6, _id='family') == EXPECTED + 36
    with SQLiteStore(tmp_path / 'runs.db') as store:
        runs = store.runs(children=True)
        assert [(run.id, run.workflow, run.state, run.parent, run.parent_key)
                for run in runs] == [
            ('family', 'Parent', 'finished', None, None),
            ('family/child-0-0', 'SumSquares', 'finished', 'family', 'child-0-0')]
        assert runs[1].result == str(EXPECTED)
        assert store.run('family').result == str(EXPECTED + 36)
        assert [call.key for call in store.calls('family')] == [
            'child-0-0', 'square-0-0', 'add-0-0']
    count = len(_executions(tmp_path))
    assert count == CALLS + 2
    assert w.run(_id='family') == EXPECTED + 36
    assert len(_executions(tmp_path)) == count


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_run_killed_in_a_child_workflow_resumes_the_child(tmp_path, durable, driver):
    result, recorded, before, after = _killed_then_resumed(
        tmp_path, driver, ['add', [14, 16]], 'Parent')
    assert ('"add"', '[5, 9]') in recorded
    assert result == EXPECTED + 36
    assert len(before + after) == CALLS + 2
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert [run.state for run in store.runs(children=True)] == ['finished'] * 2


def slow(x):
    time.sleep(0.5)
    return x


class Slow:
    def __init__(self, slow):
        self.slow = slow

    def __call__(self, x):
        return self.slow(x)


class Patient:
    def __init__(self, child):
        self.child = child

    def __call__(self, x):
        try:
            return flowy.wait(self.child(x))
        except flowy.TaskTimedout:
            return 'late'


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_child_that_times_out_is_recorded_as_failed(tmp_path, driver):
    child = LocalWorkflow(Slow, executor=ThreadPoolExecutor)
    child.conf_activity('slow', slow)
    w = LocalWorkflow(Patient, executor=ThreadPoolExecutor, driver=driver,
                      store=tmp_path / 'runs.db')
    w.conf_workflow('child', child, timeout=0.1)
    assert w.run(1, _id='p') == 'late'
    with SQLiteStore(tmp_path / 'runs.db') as store:
        parent, kid = store.runs(children=True)
        assert (parent.state, kid.state) == ('finished', 'failed')
        assert 'timed out' in kid.reason and kid.owner_pid is None
        assert [call.state for call in store.calls('p')] == ['timedout']
    assert w.run(_id='p') == 'late'


BROKEN = []


def double(x):
    CALLED['double'] += 1
    return 2 * x


def fragile(x):
    CALLED['fragile'] += 1
    if BROKEN:
        raise RuntimeError('fragile is broken')
    return x + 1


class Mends:
    def __init__(self, double, fragile):
        self.double, self.fragile = double, fragile

    def __call__(self, x):
        first = self.double(x)
        second = flowy.wait(self.double(x + 1))  # both outcomes are recorded before
        return self.double(self.fragile(first) + second)  # fragile fails


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_repair_reruns_a_failed_run_reusing_its_completed_calls(tmp_path, driver, caplog):
    CALLED.clear()
    BROKEN[:] = [True]
    w = LocalWorkflow(Mends, executor=ThreadPoolExecutor, driver=driver,
                      store=tmp_path / 'runs.db')
    w.conf_activity('double', double)
    w.conf_activity('fragile', fragile)
    with pytest.raises(TaskError, match='fragile is broken'):
        w.run(3, _id='broken')
    assert CALLED == {'double': 2, 'fragile': 1}
    BROKEN[:] = []
    with caplog.at_level('INFO', logger='flowy'):
        assert w.repair('broken') == 2 * (7 + 8)
    assert CALLED == {'double': 3, 'fragile': 2}
    with SQLiteStore(tmp_path / 'runs.db') as store:
        old, new = store.runs()
        assert (old.id, old.state) == ('broken', 'failed')
        assert (new.state, new.repair_of, new.input) == ('finished', 'broken', old.input)
        assert new.id in caplog.text
        calls = store.calls(new.id)
        # The reused calls come first (in the old finish order), then the new ones.
        assert {call.key for call in calls[:2]} == {'double-0-0', 'double-1-0'}
        assert [(call.key, call.state) for call in calls[2:]] == [
            ('fragile-0-0', 'completed'), ('double-2-0', 'completed')]
        assert all(call.state == 'completed' for call in calls)
    assert w.run(_id=new.id) == 30
    with pytest.raises(ValueError, match='nothing to repair'):
        w.repair(new.id)
    with pytest.raises(ValueError, match='run store'):
        LocalWorkflow(Mends).repair('broken')


def test_repairing_a_run_whose_process_died_marks_it_interrupted(tmp_path, durable):
    code, out, err = _run(tmp_path, 'cached', 'died', DURABLE_KILL=json.dumps(['add', [0, 1]]))
    assert code == -signal.SIGKILL, err
    w = durable.workflow('cached', str(tmp_path / 'runs.db'))
    assert w.repair('died') == EXPECTED
    with SQLiteStore(tmp_path / 'runs.db') as store:
        old = store.run('died')
        assert (old.state, old.owner_pid) == ('interrupted', None)
        assert 'repairs it' in old.reason


def test_close_closes_a_store_opened_from_a_path_and_a_later_run_opens_it_again(tmp_path):
    w = LocalWorkflow(Mends, executor=ThreadPoolExecutor, store=tmp_path / 'runs.db')
    w.conf_activity('double', double)
    w.conf_activity('fragile', fragile)
    BROKEN[:] = []
    first = w.store
    assert w.run(1, _id='one') == 2 * (3 + 4)
    w.close()
    assert first.closed
    assert w.run(1, _id='two') == 14
    assert w.store is not first and not w.store.closed
    w.close()
    given = SQLiteStore(tmp_path / 'runs.db')
    with LocalWorkflow(Mends, executor=ThreadPoolExecutor, store=given) as other:
        other.conf_activity('double', double)
        other.conf_activity('fragile', fragile)
        assert other.run(_id='one') == 14
    assert not given.closed  # a store object given by the caller is the caller's to close
    given.close()


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_restarts_are_recorded_and_an_id_follows_them_to_the_last_run(
        tmp_path, durable, driver):
    w = durable.workflow(driver, str(tmp_path / 'runs.db'), 'Countdown')
    assert w.run(3, _id='count') == 9 + 4 + 1
    with SQLiteStore(tmp_path / 'runs.db') as store:
        runs = store.runs()
        assert [(run.id, run.state, run.predecessor) for run in runs] == [
            ('count', 'restarted', None), ('count+1', 'restarted', 'count'),
            ('count+2', 'restarted', 'count+1'), ('count+3', 'finished', 'count+2')]
        assert json.loads(runs[1].input) == [[2, 9], {}]
        assert [call.key for call in store.calls('count+3')] == ['square-0-0', 'add-0-0']
    count = len(_executions(tmp_path))
    assert count == 8
    assert w.run(3, _id='count') == 14
    assert w.run(_id='count') == 14
    assert len(_executions(tmp_path)) == count
    with pytest.raises(ValueError, match='other arguments'):
        w.run(2, _id='count')


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_a_run_killed_after_restarts_resumes_in_its_last_run(tmp_path, durable, driver):
    # Killed in the fourth run: 25, 16, 9 are added before.
    result, recorded, before, after = _killed_then_resumed(
        tmp_path, driver, ['add', [50, 4]], 'Countdown')
    assert ('"add"', '[41, 9]') in recorded
    assert result == 55
    assert len(before + after) == 12
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert [run.state for run in store.runs()] == ['restarted'] * 5 + ['finished']


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_sigterm_marks_the_run_interrupted_and_it_resumes(tmp_path, durable, driver):
    process = _start(tmp_path, driver, 'stopped', DURABLE_GATE='1')
    try:
        _wait_until_add_ran(tmp_path, process)
        process.terminate()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGTERM, (out, err)
    with SQLiteStore(tmp_path / 'runs.db') as store:
        record = store.run('stopped')
    assert (record.state, record.owner_pid) == ('interrupted', None), err
    (tmp_path / 'gate').touch()
    before = collections.Counter(_executions(tmp_path))
    assert durable.workflow(driver, str(tmp_path / 'runs.db')).run(_id='stopped') == EXPECTED
    after = collections.Counter(_executions(tmp_path)) - before
    assert ('"square"', '[1]') not in after  # recorded before the interrupt


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_ctrl_c_marks_the_run_interrupted(tmp_path, durable, driver):
    process = _start(tmp_path, driver, 'stopped', DURABLE_GATE='1')
    try:
        _wait_until_add_ran(tmp_path, process)
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 60
        with SQLiteStore(tmp_path / 'runs.db') as store:
            # The activity thread keeps the process alive until the gate opens.
            while store.run('stopped').state != 'interrupted':
                assert time.monotonic() < deadline, process.poll()
                time.sleep(0.02)
            assert store.run('stopped').owner_pid is None
    finally:
        (tmp_path / 'gate').touch()
        try:
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert 'KeyboardInterrupt' in err
    assert durable.workflow(driver, str(tmp_path / 'runs.db')).run(_id='stopped') == EXPECTED


def test_a_stored_run_is_traced_under_its_id(tmp_path, durable):
    from flowy.local import Tracer
    tracer = Tracer()
    w = durable.workflow('cached', str(tmp_path / 'runs.db'), 'Parent')
    assert w.run(6, _id='traced', _trace=tracer) == EXPECTED + 36
    dot = tracer.to_dot()
    assert 'Parent (run traced)' in dot
    assert 'SumSquares (run traced/child-0-0)' in dot
