"""Fault injection: durable runs killed with SIGKILL at points chosen from a seed, resumed.

Each campaign (one seed, one driver) runs ``crash_worker.py`` (a workflow with a fan-out,
a dependent chain, a child workflow and restarts, in the root and in the child) in a
subprocess that kills itself at a point the seed chose, reads the run store, and starts
the run again with its id, with another fault or none, until it finishes (at most
``MAX_FAULTS`` faults, then one process without any).  The kill points:

(a) ``activity``: inside an activity, at its start or with its result computed;
(b) ``begin``: a decision was made and its transaction begins: nothing of it is written;
(c) ``vm``: inside a transaction, after some SQLite VM instructions (a progress handler);
    ``write``: at a write SQLite makes to its files (WAL frames, checkpoints, the
    journal and pages that create the store), cut short to a few bytes or not, through
    a VFS shim registered as SQLite's default;
(d) ``commit``: right after a commit, before the calls it records start;
(e) ``child-activity``, ``child-before``, ``child-after``: inside an activity of the child
    workflow, or just before or after the commit that creates a child run;
(f) ``restart-before``, ``restart-after``: just before or after the commit of a restart.

After every kill the test reads what the store recorded; after the last process it checks
that the result is the one an undisturbed run gives, that every call ran, that no call
ran again once its outcome had been recorded (a call may run twice only when the process
died before its outcome was committed: those are counted as "calls run twice"), that no
recorded outcome was lost, that the store is intact and every run ended.

``python tests/local/test_crashes.py [SEEDS] [--mixed]`` runs the campaigns of SEEDS
seeds per driver (``--mixed``: each resume on the other driver) and prints the figures
(faults tried, injected, survived; calls run twice) per kill point; so does
``pytest -s -k every_kill_point`` for the suite's campaigns.

The other tests: a store whose creation was cut short, a run killed beside another
process writing the same store, a killed run repaired instead of resumed, and timeouts
in durable runs (timed-out attempts in the store, a kill while a retry waits for its
delay, a child whose timeout ran out while no process drove it).
"""

import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, 'crash_worker.py')
for _path in (REPO, os.path.dirname(HERE), HERE):  # run as a script, too
    if _path not in sys.path:
        sys.path.insert(0, _path)

import crash_worker  # noqa: E402
from waiting import PROMPT, bounded_run  # noqa: E402

import flowy  # noqa: E402
from flowy import LocalWorkflow  # noqa: E402
from flowy.local.store import SQLiteStore, StoreError  # noqa: E402

DRIVERS = ('cached', 'replay')
SEEDS = 20  # per driver
MAX_FAULTS = 3  # per campaign, each in a process of its own
WITHIN = 30  # seconds any one process may take (an undisturbed run takes 0.3 s)
ACTIVITIES = ('square', 'add', 'inc', 'twice')
RUN_IDS = ['job', 'job+1', 'job+1/child-0-0', 'job+1/child-0-0+1', 'job/child-0-0',
           'job/child-0-0+1']

# kill point -> (its category in the docstring above, the count its "at" ranges over)
POINTS = {
    'activity': ('a', 'activity'),
    'begin': ('b', 'begin'),
    'vm': ('c', 'begin'),
    'write': ('c', 'write'),
    'commit': ('d', 'commit'),
    'child-activity': ('e', 'child-activity'),
    'child-before': ('e', 'child'),
    'child-after': ('e', 'child'),
    'restart-before': ('f', 'restart'),
    'restart-after': ('f', 'restart'),
}
# Kills inside SQLite's writes go through a shim over the shared libsqlite3: where this
# Python's sqlite3 is linked otherwise, those faults cannot be made and are skipped.
SHIMMED = crash_worker.shared_sqlite() is not None
needs_shim = pytest.mark.skipif(not SHIMMED, reason="this Python's sqlite3 does not use "
                                "the shared libsqlite3 (kills inside writes need it)")
ORDER = sorted(point for point in POINTS if SHIMMED or point != 'write')
CREATING = 16  # SQLite's writes while a new store is created and switched to WAL


def plan(seed, counts):
    """The faults of one campaign: the first one's point is set by the seed, so that a
    run of consecutive seeds covers every point; the rest are random."""
    rng = random.Random(seed)
    faults = []
    for number in range(rng.randint(1, MAX_FAULTS)):
        point = ORDER[seed % len(ORDER)] if number == 0 else rng.choice(ORDER)
        # A resumed process has less left to do: later faults come earlier.
        limit = max(1, counts[POINTS[point][1]] // (number + 1))
        if point == 'write' and rng.random() < 0.25:
            limit = CREATING  # the writes that create the store: fewer, and they count
        fault = {'point': point, 'at': rng.randint(1, limit)}
        if point in ('activity', 'child-activity'):
            fault['end'] = rng.random() < 0.5
        elif point == 'vm':
            fault['steps'] = rng.randint(1, 60)
        elif point == 'write':
            fault['torn'] = rng.choice([0, rng.randint(1, 4000)])
        faults.append(fault)
    return faults


def start_worker(directory, driver, fault=None, workflow='mix', store=None, run_id='job'):
    """A worker process for run ``run_id`` in ``store`` (``runs.db`` in ``directory``,
    where its log and faults files go)."""
    env = dict(os.environ, CRASH_DIR=str(directory), CRASH_FAULT=json.dumps(fault),
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    store = os.path.join(str(directory), 'runs.db') if store is None else str(store)
    return subprocess.Popen(
        [sys.executable, WORKER, driver, store, run_id, workflow], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_worker(directory, driver, fault=None, workflow='mix', store=None, run_id='job'):
    """(pid, return code, stdout, stderr) of one worker process; None for the code if
    it did not end within WITHIN seconds (it is killed)."""
    process = start_worker(directory, driver, fault, workflow, store, run_id)
    try:
        out, err = process.communicate(timeout=WITHIN)
        code = process.returncode
    except subprocess.TimeoutExpired:
        code, out, err = None, '', 'no end within %d s' % WITHIN
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.pid, code, out, err


def _lines(directory, name):
    path = os.path.join(str(directory), name)
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        return [json.loads(line) for line in stream]


def executions(directory, pid=None):
    """The activity calls that started, as (name, args as JSON), of one process or all."""
    return [(line[0], json.dumps(line[1])) for line in _lines(directory, 'log')
            if pid is None or line[2] == pid]


def recorded(directory, store=None, run_id='job'):
    """What the store holds of ``run_id`` (its restarts and children included):
    {(name, args as JSON)} of the activity calls with a recorded outcome, and {run id:
    RunRecord}.  Opening the store also recovers a WAL left by a crash."""
    store = os.path.join(str(directory), 'runs.db') if store is None else str(store)
    with SQLiteStore(store) as store:
        store.check()
        runs = {run.id: run for run in store.runs(children=True)
                if re.split('[+/]', run.id)[0] == run_id}
        done = set()
        for run_id in runs:
            for call in store.calls(run_id):
                if call.dep in ACTIVITIES and call.state != 'running':
                    done.add((call.dep, json.dumps(json.loads(call.input)[0])))
    return done, runs


def calibrate(directory, driver):
    """An undisturbed run: its result, its calls, and how often each kill point occurs."""
    pid, code, out, err = run_worker(directory, driver)
    assert code == 0, err
    report = json.loads(out)
    calls = executions(directory)
    assert report['result'] == crash_worker.expected()
    assert len(calls) == len(set(calls)) == report['counts']['activity']
    done, runs = recorded(directory)
    assert done == set(calls)
    assert sorted(runs) == RUN_IDS
    return {'result': report['result'], 'calls': set(calls), 'counts': report['counts']}


class Campaign:
    """One seed's faults on one driver, and what came of them."""

    def __init__(self, directory, driver, seed, calibration, faults=None, mixed=False,
                 store=None):
        self.directory, self.driver, self.seed = directory, driver, seed
        self.store = store  # another store than runs.db in the directory
        self.mixed = mixed  # resume with the other driver each time
        self.calibration = calibration
        self.faults = plan(seed, calibration['counts']) if faults is None else faults
        self.tried = []  # the points given to the processes that ran
        self.injected = []  # the points where a process was killed, in order
        self.twice = 0  # calls that ran twice (their first run had no recorded outcome)
        self.problems = []
        self.processes = 0

    def problem(self, text):
        self.problems.append('%s seed %d: %s' % (self.driver, self.seed, text))

    def run(self):
        done = set()  # the calls with a recorded outcome when the last process died
        result = None
        for number, fault in enumerate(self.faults + [None]):
            driver = self.driver
            if self.mixed:
                driver = DRIVERS[(DRIVERS.index(driver) + number) % len(DRIVERS)]
            pid, code, out, err = run_worker(self.directory, driver, fault,
                                             store=self.store)
            self.processes += 1
            if fault is not None:
                self.tried.append(fault['point'])
            ran = executions(self.directory, pid)
            again = sorted(set(ran) & done)
            if again:
                self.problem('recorded calls ran again after a kill: %s' % again)
            if len(ran) != len(set(ran)):
                self.problem('a call ran twice in one process: %s' % ran)
            if code == 0:
                result = json.loads(out)['result']
                break
            if code != -signal.SIGKILL:
                self.problem('process %s ended with %s (fault %s): %s'
                             % (pid, code, fault, err.strip()[-2000:]))
                return self
            fired = [line for line in _lines(self.directory, 'faults') if line['pid'] == pid]
            self.injected.append(fired[0]['point'] if fired else '?')
            try:
                now, runs = recorded(self.directory, self.store)
            except Exception as exc:
                self.problem('the store cannot be read after a kill at %s: %s' % (fault, exc))
                return self
            lost = sorted(done - now)
            if lost:
                self.problem('recorded outcomes lost after a kill at %s: %s' % (fault, lost))
            done = now
        else:
            self.problem('the run did not finish without a fault')
            return self
        self._check_end(result)
        return self

    def _check_end(self, result):
        expected = self.calibration
        if result != expected['result']:
            self.problem('result %r, undisturbed %r' % (result, expected['result']))
        counts = collections.Counter(executions(self.directory))
        if set(counts) != expected['calls']:
            self.problem('calls made %s, undisturbed %s'
                         % (sorted(set(counts)), sorted(expected['calls'])))
        self.twice = sum(count - 1 for count in counts.values())
        if self.twice > len(self.injected) * len(expected['calls']):
            self.problem('%d calls ran twice after %d faults' % (self.twice, len(self.injected)))
        done, runs = recorded(self.directory, self.store)
        if done != expected['calls']:
            self.problem('recorded outcomes %s' % sorted(done ^ expected['calls']))
        states = {run_id: (run.state, run.owner_pid) for run_id, run in runs.items()}
        want = {run_id: ('finished' if run_id in ('job+1', 'job+1/child-0-0+1',
                                                  'job/child-0-0+1') else 'restarted', None)
                for run_id in RUN_IDS}
        if states != want:
            self.problem('runs %s' % states)


FIGURES = {}  # (driver, seed) -> Campaign, filled by the campaigns of this module


@pytest.fixture(scope='module')
def calibration(tmp_path_factory):
    return {driver: calibrate(tmp_path_factory.mktemp('undisturbed-' + driver), driver)
            for driver in DRIVERS}


@pytest.mark.parametrize('seed', range(SEEDS))
@pytest.mark.parametrize('driver', DRIVERS)
def test_a_run_killed_at_random_points_resumes_to_the_undisturbed_result(
        tmp_path, calibration, driver, seed):
    campaign = Campaign(tmp_path, driver, seed, calibration[driver]).run()
    FIGURES[driver, seed] = campaign
    assert not campaign.problems, '\n'.join(campaign.problems)


@needs_shim
@pytest.mark.parametrize('at, torn, where', [
    (3, 60, 'runs.db'), (5, 0, 'runs.db'), (8, 0, 'runs.db'), (11, 0, 'runs.db-journal'),
    (16, 60, 'runs.db')])
def test_a_store_whose_creation_was_cut_short_is_recovered_not_refused(
        tmp_path, calibration, at, torn, where):
    # Killed while SQLite writes the new file's schema (or switches it to WAL): a hot
    # rollback journal is left beside a file that is cut short or holds pages of a
    # transaction that never committed.  The next process must let SQLite roll it back
    # rather than judge the raw file (it used to refuse it: "its schema is incomplete").
    fault = {'point': 'write', 'at': at, 'torn': torn}
    campaign = Campaign(tmp_path, 'cached', 0, calibration['cached'], [fault]).run()
    assert not campaign.problems, '\n'.join(campaign.problems)
    assert campaign.injected == ['write']
    assert _lines(tmp_path, 'faults')[0]['file'] == where


@pytest.mark.parametrize('faults', [
    pytest.param([{'point': 'write', 'at': 40, 'torn': 100}], marks=needs_shim),
    [{'point': 'begin', 'at': 8}],
    [{'point': 'vm', 'at': 8, 'steps': 5}],
    [{'point': 'commit', 'at': 10}, {'point': 'activity', 'at': 3, 'end': True}]],
    ids=['write', 'begin', 'vm', 'commit-activity'])
def test_a_run_killed_beside_another_in_the_same_store_leaves_the_other_alone(
        tmp_path, calibration, faults):
    # Two processes write one store; one of them is killed (maybe holding SQLite's
    # write lock, or in the middle of a write) and resumed, the other goes on.  The
    # kill points come early: with two writers, a run makes fewer decisions.
    store = tmp_path / 'runs.db'
    (tmp_path / 'killed').mkdir()
    (tmp_path / 'beside').mkdir()
    other = start_worker(tmp_path / 'beside', 'replay', store=store, run_id='other')
    try:
        campaign = Campaign(tmp_path / 'killed', 'cached', 0, calibration['cached'], faults,
                            store=store).run()
        out, err = other.communicate(timeout=WITHIN)
    finally:
        if other.poll() is None:
            other.kill()
            other.communicate()
    assert not campaign.problems, '\n'.join(campaign.problems)
    assert campaign.injected[0] == faults[0]['point']
    assert other.returncode == 0, err
    assert json.loads(out)['result'] == calibration['replay']['result']
    calls = executions(tmp_path / 'beside')
    assert len(calls) == len(set(calls)) and set(calls) == calibration['replay']['calls']
    done, runs = recorded(tmp_path, run_id='other')
    assert done == set(calls)
    assert {run.state for run in runs.values()} == {'finished', 'restarted'}


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_killed_run_can_be_repaired_reusing_what_it_recorded(
        tmp_path, calibration, driver, monkeypatch):
    # Killed in its second round (the first one's 15 calls all ended before it
    # restarted), then repaired rather than resumed: the repair follows the restart to
    # the run that was killed and makes only the calls it has no completed outcome for.
    # The 12th call of the round is an add or comes after one (6 calls are the child's,
    # 4 are squares), and an add starts only once the squares it adds are recorded.
    fault = {'point': 'activity', 'at': 27, 'end': True}
    pid, code, out, err = run_worker(tmp_path, driver, fault)
    assert code == -signal.SIGKILL, err
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert store.run('job+1').state == 'running'  # its process died
        reused = {(call.dep, json.dumps(json.loads(call.input)[0]))
                  for call in store.calls('job+1') if call.state == 'completed'}
    assert reused
    monkeypatch.setenv('CRASH_DIR', str(tmp_path))  # the activities run in this process
    w = crash_worker.workflow(driver, str(tmp_path / 'runs.db'))
    try:
        # bounded_run calls .run: give it the repair.
        result = bounded_run(types.SimpleNamespace(run=w.repair), 'job')
    finally:
        w.store.close()
    assert result == calibration[driver]['result']
    assert not set(executions(tmp_path, os.getpid())) & reused


def figures(campaigns):
    """{kill point: [tried, injected, survived]}, and the calls run twice, over
    ``campaigns``.  A fault is tried when a process is told to die there, injected when
    it did (a resumed process may end before it reaches the point), and survived when
    the campaign's checks all passed."""
    table = {point: [0, 0, 0] for point in ORDER}
    for campaign in campaigns:
        for point in campaign.tried:
            table[point][0] += 1
        for point in campaign.injected:
            table[point][1] += 1
            table[point][2] += not campaign.problems
    return table, sum(campaign.twice for campaign in campaigns)


def report(campaigns):
    table, twice = figures(campaigns)
    lines = ['%-16s %-3s %8s %8s %8s' % ('kill point', '', 'tried', 'injected', 'survived')]
    for point in ORDER:
        lines.append('%-16s (%s) %8d %8d %8d' % (point, POINTS[point][0], *table[point]))
    lines.append('%-20s %8d %8d %8d' % ('all', *(sum(row[i] for row in table.values())
                                                  for i in range(3))))
    lines.append('campaigns: %d (%d processes); calls run twice: %d'
                 % (len(campaigns), sum(c.processes for c in campaigns), twice))
    return '\n'.join(lines)


def test_every_kill_point_was_injected_and_survived(tmp_path, calibration):
    """Over all seeds of both drivers (campaigns this session did not run are run here)."""
    campaigns = []
    for driver in DRIVERS:
        for seed in range(SEEDS):
            campaign = FIGURES.get((driver, seed))
            if campaign is None:
                directory = tmp_path / ('%s-%d' % (driver, seed))
                directory.mkdir()
                campaign = Campaign(directory, driver, seed, calibration[driver]).run()
            campaigns.append(campaign)
    print('\n' + report(campaigns))
    table, twice = figures(campaigns)
    assert all(not campaign.problems for campaign in campaigns)
    for point in ORDER:
        assert table[point][1] > 0, 'no fault was injected at %s' % point
    assert sum(row[2] for row in table.values()) == sum(row[1] for row in table.values())
    assert twice > 0  # kills inside activities must make some calls run twice


# -- timeouts in durable runs ----------------------------------------------------------------

class Hangs:
    """An activity whose first attempt hangs: it heartbeats ``beats`` times, then waits
    silently until the test releases it; later attempts return ``'ok <attempt>'``."""

    def __init__(self, beats=0):
        self.beats = beats
        self.started = []
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            attempt = len(self.started)
            self.started.append(attempt)
        if attempt:
            return 'ok %d' % attempt
        for _ in range(self.beats):
            flowy.heartbeat()
        self.release.wait(PROMPT)
        return 'late'


def plus_one(x):
    return x + 1


class Beside:
    def __init__(self, task, other):
        self.task, self.other = task, other

    def __call__(self, x):
        hung, other = self.task(), self.other(x)
        return [flowy.wait(hung), flowy.wait(self.other(other))]


@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('kind, reason', [('timeout', 'ran longer than its timeout of 0.2 s '
                                                      '(start-to-close)'),
                                          ('heartbeat', 'no heartbeat for 0.2 s '
                                                        '(heartbeat timeout)')])
def test_a_hung_attempt_is_recorded_as_timed_out_and_the_run_goes_on(
        tmp_path, driver, kind, reason):
    task = Hangs(beats=3 if kind == 'heartbeat' else 0)
    w = LocalWorkflow(Beside, executor=ThreadPoolExecutor, driver=driver, activity_workers=3,
                      store=tmp_path / 'runs.db')
    w.conf_activity('task', task, retry=(0, 0), **{kind: 0.2})
    w.conf_activity('other', plus_one)
    try:
        assert bounded_run(w, 5, _id='hung') == ['ok 1', 7]
        with SQLiteStore(tmp_path / 'runs.db') as store:
            calls = {call.key: call for call in store.calls('hung')}
            assert store.run('hung').state == 'finished'
        assert calls['task-0-0'].state == 'timedout'
        assert calls['task-0-0'].reason == 'task-0-0 timed out: ' + reason
        assert [calls[key].state for key in ('task-0-1', 'other-0-0', 'other-1-0')] == [
            'completed'] * 3
        # Asked again, the id answers from the store: nothing runs.
        assert bounded_run(w, 5, _id='hung') == ['ok 1', 7]
        assert task.started == [0, 1]
    finally:
        task.release.set()
        w.store.close()


def wait_for(condition, process, what):
    """Wait (bounded) until ``condition()`` holds while ``process`` runs.

    The other process can only be watched through the files it writes, so this looks
    every few milliseconds; what happened, and in which order, comes from the files.
    """
    deadline = time.monotonic() + WITHIN
    while True:
        value = condition()
        if value:
            return value
        assert process.poll() is None, 'the worker ended before %s: %s' % (
            what, process.communicate())
        assert time.monotonic() < deadline, '%s did not happen within %d s' % (what, WITHIN)
        time.sleep(0.02)


def stored_calls(directory, run_id='job'):
    path = os.path.join(str(directory), 'runs.db')
    if not os.path.exists(path):
        return {}
    with SQLiteStore(path) as store:
        try:
            return {call.key: call for call in store.calls(run_id)}
        except StoreError:  # not created yet
            return {}


def kill(process):
    try:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=WITHIN)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def started_by(directory, pid, name):
    return [line[3] for line in _lines(directory, 'log') if line[2] == pid and line[0] == name]


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_run_killed_while_a_retry_waits_resumes_it_when_it_is_due(tmp_path, driver):
    process = start_worker(tmp_path, driver, workflow='patient')
    try:
        wait_for(lambda: stored_calls(tmp_path).get('stuck-0-0', None) and
                 stored_calls(tmp_path)['stuck-0-0'].state == 'timedout',
                 process, 'the first attempt timed out')
    finally:
        kill(process)
    calls = stored_calls(tmp_path)
    first, retry = calls['stuck-0-0'], calls['stuck-0-1']
    assert first.reason.endswith('(start-to-close)')
    assert retry.state == 'running'  # recorded, waiting for its delay
    due = retry.started
    assert due >= first.finished + crash_worker.RETRY_DELAY
    assert len(started_by(tmp_path, process.pid, 'stuck')) == 1  # killed before it was due
    pid, code, out, err = run_worker(tmp_path, driver, workflow='patient')
    assert code == 0, err
    assert json.loads(out)['result'] == 2
    # The timed-out attempt did not run again; the retry ran once, when it was due.
    again = started_by(tmp_path, pid, 'stuck')
    assert len(again) == 1 and again[0] >= due
    calls = stored_calls(tmp_path)
    assert (calls['stuck-0-0'].state, calls['stuck-0-0'].finished) == ('timedout',
                                                                       first.finished)
    assert calls['stuck-0-1'].state == 'completed'


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_resumed_child_workflow_times_out_counting_from_its_first_start(tmp_path, driver):
    process = start_worker(tmp_path, driver, workflow='impatient')
    try:
        wait_for(lambda: executions(tmp_path, process.pid), process, 'the child started')
    finally:
        kill(process)
    started = stored_calls(tmp_path)['child-0-0'].started
    # The child's deadline passes while no process runs it: that is the point here.
    time.sleep(max(0.0, started + crash_worker.CHILD_TIMEOUT - time.time()))
    resumed = time.time()
    pid, code, out, err = run_worker(tmp_path, driver, workflow='impatient')
    assert code == 0, err
    assert json.loads(out)['result'] == 'late'
    call = stored_calls(tmp_path)['child-0-0']
    assert call.state == 'timedout' and 'child workflow ran longer' in call.reason
    # Timed out as soon as it was resumed (the process had to start), not a whole
    # timeout after that.
    assert call.finished - resumed < crash_worker.CHILD_TIMEOUT
    with SQLiteStore(tmp_path / 'runs.db') as store:
        assert [(run.id, run.state) for run in store.runs(children=True)] == [
            ('job', 'finished'), ('job/child-0-0', 'failed')]


def main(seeds=SEEDS, mixed=False):
    """Run the campaigns of ``seeds`` seeds per driver; print the figures.

    ``mixed``: each resume uses the other driver.  ``CRASH_N`` in the environment sets
    the fan-out of the workflow (4).
    """
    import tempfile
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='flowy-crashes-') as top:
        calibrations = {}
        for driver in DRIVERS:
            directory = os.path.join(top, 'undisturbed-' + driver)
            os.mkdir(directory)
            calibrations[driver] = calibrate(directory, driver)
        campaigns = []
        for driver in DRIVERS:
            for seed in range(seeds):
                directory = os.path.join(top, '%s-%d' % (driver, seed))
                os.mkdir(directory)
                campaigns.append(Campaign(directory, driver, seed, calibrations[driver],
                                          mixed=mixed).run())
    print(report(campaigns))
    for campaign in campaigns:
        for problem in campaign.problems:
            print('PROBLEM', problem)
    print('%.1f s' % (time.monotonic() - started))
    return 1 if any(campaign.problems for campaign in campaigns) else 0


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='Kill durable runs at seeded points, '
                                     'resume them, and print the figures.')
    parser.add_argument('seeds', nargs='?', type=int, default=SEEDS,
                        help='seeds per driver (%(default)s)')
    parser.add_argument('--mixed', action='store_true',
                        help='resume with the other driver each time')
    arguments = parser.parse_args()
    sys.exit(main(arguments.seeds, arguments.mixed))
