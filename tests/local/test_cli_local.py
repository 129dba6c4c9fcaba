"""``flowy local``: list and show the runs of a run store from the command line."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import flowy
from flowy import LocalWorkflow, TaskError
from flowy.__main__ import main
from flowy.local.cli import main as local_main
from flowy.local.store import SQLiteStore

REPO = os.path.dirname(os.path.dirname(os.path.abspath(flowy.__file__)))


def square(x):
    return x * x


def explode(x):
    raise RuntimeError('boom at %s' % x)


class Squares:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        return sum(self.square(i) for i in range(n))


class Broken:
    def __init__(self, explode):
        self.explode = explode

    def __call__(self, n):
        return self.explode(n)


class Parent:
    def __init__(self, square, child):
        self.square, self.child = square, child

    def __call__(self, n):
        return self.square(self.child(n))


def _workflow(factory, store, **tasks):
    w = LocalWorkflow(factory, executor=ThreadPoolExecutor, store=store)
    for name, func in tasks.items():
        w.conf_activity(name, func)
    return w


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('cli') / 'runs.db')
    assert _workflow(Squares, path, square=square).run(3, _id='good') == 5
    with pytest.raises(TaskError):
        _workflow(Broken, path, explode=explode).run(7, _id='bad')
    parent = _workflow(Parent, path, square=square)
    parent.conf_workflow('child', _workflow(Squares, None, square=square))
    assert parent.run(3, _id='family') == 25
    return path


def _call(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_prints_a_table_of_the_top_level_runs(store, capsys):
    status, out, err = _call(capsys, 'local', 'list', '--store', store)
    assert (status, err) == (0, '')
    lines = out.splitlines()
    assert lines[0].split()[:3] == ['ID', 'WORKFLOW', 'STATE']
    rows = [line.split()[:3] for line in lines[1:]]
    assert rows == [['good', 'Squares', 'finished'], ['bad', 'Broken', 'failed'],
                    ['family', 'Parent', 'finished']]


def test_list_all_includes_children_and_filters_by_state_as_json(store, capsys):
    status, out, _ = _call(capsys, 'local', 'list', '--store', store, '--all', '--json')
    assert status == 0
    runs = [json.loads(line) for line in out.splitlines()]
    children = [run for run in runs if run['parent'] == 'family']
    assert len(runs) == 4 and len(children) == 1
    assert children[0]['workflow'] == 'Squares' and children[0]['state'] == 'finished'
    assert all(run['created'] <= run['updated'] for run in runs)
    status, out, _ = _call(capsys, 'local', 'list', '--store', store, '--state', 'failed',
                           '--json')
    assert [json.loads(line)['id'] for line in out.splitlines()] == ['bad']


def test_show_a_finished_run_with_its_calls(store, capsys):
    status, out, err = _call(capsys, 'local', 'show', 'good', '--store', store)
    assert (status, err) == (0, '')
    assert 'state:       finished' in out
    assert 'workflow:    Squares' in out
    calls = [line for line in out.splitlines() if line.startswith('  ')]
    assert len(calls) == 3 and all(' completed ' in line for line in calls)
    status, out, _ = _call(capsys, 'local', 'show', 'good', '--store', store, '--json')
    shown = json.loads(out)
    assert shown['state'] == 'finished' and json.loads(shown['result']) == 5
    assert [call['state'] for call in shown['calls']] == ['completed'] * 3
    assert sorted(json.loads(call['result']) for call in shown['calls']) == [0, 1, 4]
    assert all(call['duration'] >= 0 for call in shown['calls'])


def test_show_a_failed_run_gives_the_reason_and_with_v_the_traceback(store, capsys):
    status, out, _ = _call(capsys, 'local', 'show', 'bad', '--store', store)
    assert status == 0 and 'Traceback' not in out
    # the run's reason names the call and the exception; so does the call's line
    assert 'reason:      explode-0-0 failed: RuntimeError: boom at 7\n' in out
    assert '-> RuntimeError: boom at 7' in out
    status, out, _ = _call(capsys, 'local', 'show', 'bad', '--store', store, '-v')
    assert status == 0 and 'Traceback' in out and 'RuntimeError' in out
    shown = json.loads(_call(capsys, 'local', 'show', 'bad', '--store', store, '--json',
                             '-v')[1])
    assert shown['state'] == 'failed' and 'boom at 7' in shown['reason']
    assert shown['calls'][0]['state'] == 'failed'
    assert shown['calls'][0]['type_name'] == 'RuntimeError'
    assert 'RuntimeError' in shown['calls'][0]['traceback']
    assert "raise RuntimeError('boom at %s' % x)" in shown['calls'][0]['traceback']


def test_show_names_the_children_and_the_parent(store, capsys):
    shown = json.loads(_call(capsys, 'local', 'show', 'family', '--store', store, '--json')[1])
    assert len(shown['children']) == 1
    child = shown['children'][0]
    status, out, _ = _call(capsys, 'local', 'show', child, '--store', store)
    assert status == 0 and 'parent:      family (call ' in out


def test_an_unknown_run_or_a_missing_store_is_one_line_and_status_1(store, tmp_path, capsys):
    status, out, err = _call(capsys, 'local', 'show', 'nope', '--store', store)
    assert (status, out) == (1, '')
    assert err.count('\n') == 1 and 'no run nope' in err
    missing = str(tmp_path / 'missing.db')
    status, out, err = _call(capsys, 'local', 'list', '--store', missing)
    assert (status, out) == (1, '')
    assert err.count('\n') == 1 and missing in err
    assert not os.path.exists(missing)  # looking does not create a store


def test_usage_errors_exit_2(store, capsys):
    assert local_main([]) == 2
    assert local_main(['list']) == 2  # --store is required
    assert local_main(['list', '--store', store, '--state', 'sleeping']) == 2
    capsys.readouterr()


def _flowy(*argv):
    environ = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, '-m', 'flowy'] + list(argv), env=environ,
                          capture_output=True, text=True, timeout=120)


def test_python_m_flowy_dispatches_local_and_swf_commands(store):
    done = _flowy('local', 'list', '--store', store)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ['good', 'bad',
                                                                           'family']
    done = _flowy('--help')
    assert done.returncode == 0 and 'flowy local' in done.stdout
    assert 'decider' in done.stdout  # the SWF commands are still there


RERUN_MODULE = '''
import os
from concurrent.futures import ThreadPoolExecutor
from flowy import LocalWorkflow


def square(x):
    if os.path.exists(os.environ['CLI_BROKEN']):
        raise RuntimeError('square is broken')
    return x * x


class Squares:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        return sum(self.square(i) for i in range(n))


squares = LocalWorkflow(Squares, executor=ThreadPoolExecutor)
squares.conf_activity('square', square)
stored = LocalWorkflow(Squares, executor=ThreadPoolExecutor, store=os.environ['CLI_STORE'])
stored.conf_activity('square', square)
not_a_workflow = 42
'''


@pytest.fixture
def rerun(tmp_path, monkeypatch):
    module = tmp_path / 'cli_rerun_wf.py'
    module.write_text(RERUN_MODULE)
    broken = tmp_path / 'broken'
    monkeypatch.setenv('CLI_BROKEN', str(broken))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop('cli_rerun_wf', None)
    path = str(tmp_path / 'runs.db')
    monkeypatch.setenv('CLI_STORE', path)
    with SQLiteStore(path) as store:  # runs recorded and never driven: to resume
        store.create_run('Squares', '[[3],{}]', 'pending')
        store.create_run('Squares', '[[4],{}]', 'doomed')
    yield path, '%s:squares' % module, broken
    sys.modules.pop('cli_rerun_wf', None)


def _ids(capsys, path):
    return [json.loads(line)['id'] for line in
            _call(capsys, 'local', 'list', '--store', path, '--json')[1].splitlines()]


def test_resume_runs_a_stored_run_and_prints_its_result(rerun, capsys):
    path, workflow, _ = rerun
    status, out, err = _call(capsys, 'local', 'resume', 'pending', '--store', path,
                             '--workflow', workflow)
    assert (status, out, err) == (0, '5\n', '')
    assert json.loads(_call(capsys, 'local', 'show', 'pending', '--store', path,
                            '--json')[1])['state'] == 'finished'
    import cli_rerun_wf
    assert cli_rerun_wf.squares.store is None  # the store given was not kept


def test_a_failed_run_is_reported_and_repair_reruns_it(rerun, capsys):
    path, workflow, broken = rerun
    broken.touch()
    line = ('flowy local resume: error: square-0-0 failed: RuntimeError: square is broken\n')
    status, out, err = _call(capsys, 'local', 'resume', 'doomed', '--store', path,
                             '--workflow', workflow)
    assert (status, out, err) == (1, '', line)
    broken.unlink()
    status, out, err = _call(capsys, 'local', 'resume', 'doomed', '--store', path,
                             '--workflow', workflow)  # the recorded failure stands
    assert (status, out, err) == (1, '', line)
    # -v: the traceback of the activity, below the same line
    status, out, err = _call(capsys, 'local', 'resume', 'doomed', '--store', path,
                             '--workflow', workflow, '-v')
    assert status == 1 and err.startswith(line)
    assert "    raise RuntimeError('square is broken')" in err
    assert err.rstrip().endswith('RuntimeError: square is broken')
    status, out, err = _call(capsys, 'local', 'repair', 'doomed', '--store', path,
                             '--workflow', workflow)
    assert (status, out, err) == (0, '14\n', '')
    new = [run_id for run_id in _ids(capsys, path) if run_id not in ('pending', 'doomed')]
    assert len(new) == 1
    shown = json.loads(_call(capsys, 'local', 'show', new[0], '--store', path, '--json')[1])
    assert (shown['state'], shown['repair_of']) == ('finished', 'doomed')


def test_resume_refuses_what_it_cannot_run(rerun, tmp_path, capsys):
    path, workflow, _ = rerun
    status, _, err = _call(capsys, 'local', 'resume', 'nope', '--store', path,
                           '--workflow', workflow)
    assert status == 1 and 'no run nope' in err
    assert _ids(capsys, path) == ['pending', 'doomed']  # no run was started for it
    for spec in ('no_such_module_here:squares', workflow.replace(':squares', ':missing'),
                 workflow.replace(':squares', ':not_a_workflow'), 'squares'):
        status, out, err = _call(capsys, 'local', 'resume', 'pending', '--store', path,
                                 '--workflow', spec)
        assert (status, out) == (2, '') and err.count('\n') == 1, err
    status, _, err = _call(capsys, 'local', 'resume', 'pending', '--workflow', workflow)
    assert status == 2 and 'give --store' in err
    status, _, err = _call(capsys, 'local', 'repair', 'pending', '--workflow', workflow,
                           '--store', str(tmp_path / 'missing.db'))
    assert status == 1 and 'missing.db' in err


def test_a_workflow_with_a_store_uses_it_and_refuses_another(rerun, tmp_path, capsys):
    path, workflow, _ = rerun
    stored = workflow.replace(':squares', ':stored')
    other = tmp_path / 'other.db'
    other.touch()
    status, out, err = _call(capsys, 'local', 'resume', 'pending', '--workflow', stored,
                             '--store', str(other))
    assert (status, out) == (2, '') and 'uses the store' in err
    status, out, err = _call(capsys, 'local', 'resume', 'pending', '--workflow', stored)
    assert (status, out, err) == (0, '5\n', '')
    import cli_rerun_wf
    cli_rerun_wf.stored.store.close()


def test_rerun_calls_one_recorded_activity_call_again(rerun, capsys):
    path, workflow, broken = rerun
    assert _call(capsys, 'local', 'resume', 'pending', '--store', path,
                 '--workflow', workflow)[0] == 0
    status, out, err = _call(capsys, 'local', 'rerun', 'pending', 'square-2-0', '--store', path,
                             '--workflow', workflow)
    assert (status, out, err) == (0, '4\n', '')
    broken.touch()
    status, out, err = _call(capsys, 'local', 'rerun', 'pending', 'square-2-0', '--store', path,
                             '--workflow', workflow)
    assert (status, out, err) == (1, '', 'flowy local rerun: error: square-2-0 failed: '
                                         'RuntimeError: square is broken\n')
    status, out, err = _call(capsys, 'local', 'rerun', 'pending', 'square-2-0', '--store', path,
                             '--workflow', workflow, '-v')
    assert status == 1 and "raise RuntimeError('square is broken')" in err
    status, out, err = _call(capsys, 'local', 'rerun', 'pending', 'square-9-0', '--store', path,
                             '--workflow', workflow)
    assert (status, out) == (1, '') and 'no call square-9-0' in err
    # nothing was recorded: the run still has its three calls
    shown = json.loads(_call(capsys, 'local', 'show', 'pending', '--store', path, '--json')[1])
    assert [call['key'] for call in shown['calls']] == ['square-0-0', 'square-1-0',
                                                        'square-2-0']


# -- signal, cancel, and how timers, markers, signals and cancellations are shown ----------

@pytest.fixture
def reach(tmp_path):
    """A store with an interrupted run (a timer, a marker, a signal, a cancelled call) and
    its child, a finished run, and a run held by a live store object."""
    path = str(tmp_path / 'reach.db')
    with SQLiteStore(path) as store:
        store.create_run('Approval', '[[],{}]', 'waiting')
        with store.decision('waiting') as d:
            d.scheduled('@sleep-0', '@sleep', 0, '86400', at=2e9)
            d.scheduled('@marker-0', '@marker', 1, '"phase"')
            d.completed('@marker-0', '"asked"')
            d.scheduled('notify-2-0', 'notify', 2, '[[],{}]')
            d.cancelled('notify-2-0', 'notify-2 was cancelled')
            d.signalled('approve', '{"by":"ann"}')
            d.child('sub-3-0', 'Sub', '[[],{}]')
        with store.transaction() as tx:
            tx.run('waiting').interrupt()
            tx.run('waiting/sub-3-0').interrupt()
        store.create_run('Approval', '[[],{}]', 'over')
        with store.decision('over') as d:
            d.finish('1')
    holder = SQLiteStore(path)
    holder.create_run('Approval', '[[],{}]', 'live')
    yield path
    holder.close()


def test_signal_queues_a_json_value_shown_in_the_inbox(reach, capsys):
    status, out, err = _call(capsys, 'local', 'signal', 'waiting', 'approve', '{"ok": true}',
                             '--store', reach)
    assert (status, err) == (0, '')
    assert out == ('signal approve queued for run waiting (interrupted): the run receives '
                   'it when it is resumed\n')
    status, out, err = _call(capsys, 'local', 'signal', 'live', 'nudge', '--store', reach)
    assert status == 0 and 'queued for run live (running, process %d' % os.getpid() in out
    with SQLiteStore(reach) as store:
        assert [(m.name, m.data) for m in store.inbox(['waiting', 'live'])] == [
            ('approve', '{"ok":true}'), ('nudge', 'null')]
    status, out, _ = _call(capsys, 'local', 'show', 'waiting', '--store', reach)
    assert 'inbox:       signal approve ({"ok":true})' in out
    shown = json.loads(_call(capsys, 'local', 'show', 'waiting', '--store', reach,
                             '--json')[1])
    assert [(m['kind'], m['name'], m['data']) for m in shown['inbox']] == [
        ('signal', 'approve', '{"ok":true}')]


def test_signal_refuses_bad_json_an_unknown_or_an_ended_run(reach, capsys):
    status, out, err = _call(capsys, 'local', 'signal', 'waiting', 'approve', '{yes',
                             '--store', reach)
    assert (status, out) == (2, '') and 'run waiting is not JSON' in err
    assert err.count('\n') == 1
    status, out, err = _call(capsys, 'local', 'signal', 'nope', 'approve', '--store', reach)
    assert (status, out) == (1, '') and 'no run nope' in err
    status, out, err = _call(capsys, 'local', 'signal', 'over', 'approve', '--store', reach)
    assert (status, out) == (1, '') and 'run over in %s finished: it takes no more signals' % (
        reach) in err
    with SQLiteStore(reach) as store:
        assert store.inbox(['waiting', 'over']) == []


def test_cancel_ends_a_run_no_process_drives_and_its_children(reach, capsys):
    status, out, err = _call(capsys, 'local', 'cancel', 'waiting', '--reason', 'too late',
                             '--store', reach)
    assert (status, err) == (0, '')
    assert out.splitlines() == [
        'run waiting cancelled: no process was running it; it has failed: the run was '
        'cancelled: too late',
        'its child runs that had not ended were cancelled too: waiting/sub-3-0']
    status, out, _ = _call(capsys, 'local', 'list', '--store', reach, '--all')
    states = {line.split()[0]: line.split()[2:4] for line in out.splitlines()[1:]}
    assert states['waiting'] == states['waiting/sub-3-0'] == ['failed', '(cancelled)']
    assert states['over'][0] == 'finished'
    status, out, _ = _call(capsys, 'local', 'list', '--store', reach, '--state', 'cancelled',
                           '--json')
    assert [json.loads(line)['id'] for line in out.splitlines()] == ['waiting']
    status, out, err = _call(capsys, 'local', 'cancel', 'waiting', '--store', reach)
    assert status == 1 and 'failed: there is nothing to cancel' in err


def test_cancel_of_a_run_a_live_process_drives_is_queued(reach, capsys):
    status, out, err = _call(capsys, 'local', 'cancel', 'live', '--store', reach)
    assert (status, err) == (0, '')
    assert out.startswith('cancellation of run live queued (running, process %d'
                          % os.getpid())
    with SQLiteStore(reach) as store:
        assert [(m.kind, m.data) for m in store.inbox(['live'])] == [('cancel', None)]
        assert store.run('live').state == 'running'
    status, out, err = _call(capsys, 'local', 'cancel', 'nope', '--store', reach)
    assert (status, out) == (1, '') and 'no run nope' in err


def test_show_gives_timers_markers_signals_and_cancelled_calls_readably(reach, capsys):
    status, out, _ = _call(capsys, 'local', 'show', 'waiting', '--store', reach)
    assert status == 0
    calls = [line.strip() for line in out.splitlines() if line.startswith('  ')]
    assert calls[0] == '@sleep-0  timer 86400s  waiting until 2033-05-18 03:33:20 UTC'
    assert calls[1] == '@marker-0  marker  completed  input="phase"  -> "asked"'
    assert calls[2].startswith('notify-2-0  cancelled  ')
    assert calls[2].endswith('-> notify-2 was cancelled')
    assert calls[3].startswith('@signal-approve-0  signal received ')
    assert calls[3].endswith(' UTC  -> {"by":"ann"}')
    shown = json.loads(_call(capsys, 'local', 'show', 'waiting', '--store', reach,
                             '--json')[1])
    kinds = [(call['key'], call['kind'], call['state']) for call in shown['calls']]
    assert kinds == [('@sleep-0', 'timer', 'running'), ('@marker-0', 'marker', 'completed'),
                     ('notify-2-0', 'call', 'cancelled'),
                     ('@signal-approve-0', 'signal', 'completed')]
    assert shown['calls'][0]['due'] == 2e9 and shown['calls'][0]['input'] == '86400'
    assert shown['cancelled'] is False


# -- history, tasks, profile, restart and --format ---------------------------------------------


def _csv(text):
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize('fmt', ['table', 'json', 'csv'])
def test_tasks_of_a_run_in_every_format(store, capsys, fmt):
    status, out, err = _call(capsys, 'local', 'tasks', 'good', '--store', store, '--format',
                             fmt)
    assert (status, err) == (0, '')
    if fmt == 'table':
        lines = out.splitlines()
        assert lines[0].split()[:5] == ['CALL', 'TYPE', 'KIND', 'ATTEMPTS', 'STATE']
        assert 'QUEUE' not in lines[0]  # the store does not record when a worker took it
        assert [line.split()[:5] for line in lines[1:]] == [
            ['square-%d' % n, 'square', 'activity', '1', 'completed'] for n in range(3)]
        return
    rows = json.loads(out) if fmt == 'json' else _csv(out)
    assert [row['call'] for row in rows] == ['square-0', 'square-1', 'square-2']
    assert [json.loads(row['result']) for row in rows] == [0, 1, 4]
    assert [str(row['attempts']) for row in rows] == ['1'] * 3
    if fmt == 'json':
        assert all(row['run_time'] >= 0 and row['closed'] >= row['scheduled'] for row in rows)


def test_tasks_show_errors_and_child_workflows(store, capsys):
    status, out, _ = _call(capsys, 'local', 'tasks', 'bad', '--store', store, '--format',
                           'json')
    (call,) = json.loads(out)
    assert (call['call'], call['state'], call['error']) == (
        'explode-0', 'failed', 'RuntimeError: boom at 7')
    status, out, _ = _call(capsys, 'local', 'tasks', 'family', '--store', store)
    assert status == 0
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ['child-0', 'child', 'workflow'], ['square-0', 'square', 'activity']]


@pytest.mark.parametrize('fmt', ['table', 'json', 'csv'])
def test_profile_of_a_run(store, capsys, fmt):
    status, out, err = _call(capsys, 'local', 'profile', 'family', '--store', store,
                             '--format', fmt)
    assert (status, err) == (0, '')
    if fmt == 'table':
        assert out.splitlines()[0].split()[:6] == ['TYPE', 'KIND', 'CALLS', 'ATTEMPTS',
                                                   'COMPLETED', 'FAILURES']
        assert sorted(line.split()[0] for line in out.splitlines()[1:]) == ['child', 'square']
        return
    rows = {row['type']: row for row in (json.loads(out) if fmt == 'json' else _csv(out))}
    assert set(rows) == {'child', 'square'}
    assert str(rows['square']['calls']) == '1' and str(rows['child']['failures']) == '0'
    status, out, _ = _call(capsys, 'local', 'profile', 'bad', '--store', store, '--format',
                           'json')
    (row,) = json.loads(out)
    assert (row['type'], row['failures'], row['completed']) == ('explode', 1, 0)


@pytest.mark.parametrize('fmt', ['table', 'json', 'csv'])
def test_history_of_a_run(store, capsys, fmt):
    status, out, err = _call(capsys, 'local', 'history', 'bad', '--store', store, '--format',
                             fmt)
    assert (status, err) == (0, '')
    if fmt == 'table':
        lines = out.splitlines()
        assert lines[0].split() == ['ID', 'TIME', '(UTC)', 'EVENT', 'CALL', 'NAME', 'DETAIL']
        assert 'run created' in lines[1] and 'Broken' in lines[1]
        assert lines[-1].split()[3:] == ['run', 'failed', '-', '-', 'explode-0-0', 'failed:',
                                         'RuntimeError:', 'boom', 'at', '7']
        return
    rows = json.loads(out) if fmt == 'json' else _csv(out)
    assert [(row['event'], row['call'] or None) for row in rows] == [
        ('run created', None), ('scheduled', 'explode-0-0'), ('failed', 'explode-0-0'),
        ('run failed', None)]
    assert rows[2]['detail'] == 'RuntimeError: boom at 7'


def test_list_and_show_in_every_format(store, capsys):
    status, out, _ = _call(capsys, 'local', 'list', '--store', store, '--format', 'json')
    runs = json.loads(out)
    assert [run['id'] for run in runs] == ['good', 'bad', 'family']
    assert runs[1]['state'] == 'failed' and runs[0]['duration'] >= 0
    assert runs[0]['created'].endswith('+00:00')
    status, out, _ = _call(capsys, 'local', 'list', '--store', store, '--all', '--format',
                           'csv')
    rows = _csv(out)
    assert ('family/child-0-0', 'family') in [(row['id'], row['parent']) for row in rows]
    status, out, _ = _call(capsys, 'local', 'show', 'good', '--store', store, '--format',
                           'csv')
    assert [row['key'] for row in _csv(out)] == ['square-0-0', 'square-1-0', 'square-2-0']
    status, out, _ = _call(capsys, 'local', 'show', 'good', '--store', store, '--format',
                           'json')
    assert json.loads(out)['id'] == 'good'


@pytest.mark.parametrize('command', ['history', 'tasks', 'profile'])
def test_an_unknown_run_or_store_is_one_line(store, capsys, tmp_path, command):
    status, out, err = _call(capsys, 'local', command, 'nope', '--store', store)
    assert (status, out) == (1, '')
    assert err == 'flowy local %s: error: there is no run nope in %s\n' % (command, store)
    missing = str(tmp_path / 'missing.db')
    status, _, err = _call(capsys, 'local', command, 'good', '--store', missing)
    assert status == 1 and 'there is no run store' in err


def test_restart_runs_the_input_again_as_a_new_run(rerun, capsys):
    path, workflow, broken = rerun
    assert _call(capsys, 'local', 'resume', 'pending', '--store', path, '--workflow',
                 workflow)[0] == 0
    status, out, err = _call(capsys, 'local', 'restart', 'pending', '--store', path,
                             '--workflow', workflow)
    assert (status, err) == (0, '')
    first, result = out.splitlines()
    new_id = first.split(': ', 1)[1]
    assert first.startswith('run id: ') and new_id not in ('pending', 'doomed')
    assert result == '5'
    shown = json.loads(_call(capsys, 'local', 'show', new_id, '--store', path, '--json')[1])
    assert (shown['state'], shown['input']) == ('finished', '[[3],{}]')
    status, out, _ = _call(capsys, 'local', 'restart', 'pending', '--store', path,
                           '--workflow', workflow, '--id', 'again')
    assert (status, out) == (0, 'run id: again\n5\n')
    status, out, err = _call(capsys, 'local', 'restart', 'pending', '--store', path,
                             '--workflow', workflow, '--id', 'again')
    assert status == 1 and 'has a run again already' in err
    broken.touch()
    status, out, err = _call(capsys, 'local', 'restart', 'doomed', '--store', path,
                             '--workflow', workflow, '--id', 'doomed-2')
    assert status == 1 and out == 'run id: doomed-2\n'
    assert err == ('flowy local restart: error: square-0-0 failed: RuntimeError: square is '
                   'broken\n')
    status, _, err = _call(capsys, 'local', 'restart', 'nope', '--store', path,
                           '--workflow', workflow)
    assert status == 1 and 'there is no run nope' in err
