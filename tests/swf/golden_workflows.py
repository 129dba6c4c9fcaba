"""The workflows of the golden SWF histories, and how those histories are stored and replayed.

``tests/swf/golden/*.json`` are histories of these workflows recorded on moto (plus
``moto_ext``) by ``tests/swf/record_golden.py``; ``test_golden.py`` replays them and
``test_roundtrip.py`` records and replays in one go.  The pieces they share:

* the activities and workflows (decorated, so ``scan()`` finds them),
  :func:`make_decider` and :func:`make_activity_worker`;
* :data:`CASES`, one :class:`Case` per golden file: the workflow, its arguments and the
  event types its history must show;
* the file format (:func:`dump_golden`, :func:`load_golden`): one JSON object with
  ``format`` (1), ``case``, ``description``, ``recordedWith``, ``workflowType``,
  ``workflowId``, ``runId``, ``input``, the ``events`` exactly as boto3's
  ``get_workflow_execution_history`` returns them (every page), except that
  ``eventTimestamp`` (a ``datetime``) is written as an ISO 8601 string in UTC and read
  back as an aware ``datetime``, and ``decisions``: one entry per decision task of the
  history (each ``DecisionTaskStarted`` answered by a ``DecisionTaskCompleted``),
  ``{"startedEventId": ..., "decisions": [...]}``, the SWF decisions the live decider sent
  for the history up to that event.  The non-deterministic case adds ``changedBody`` and
  ``changedDecisions`` (what a decider running the edited body answers at each point).
  Decisions are compared after :func:`normalize` (a JSON round trip, the stored form);
* :class:`HistoryStub`, a stand-in for SWF's decision task API that serves a recorded
  history up to one decision point at a time, and :func:`replay_decisions`, which drives a
  real :class:`~flowy.swf.decider.SWFWorkflowWorker` through the decision points;
* :class:`RecordingClient`, an :class:`~flowy.swf.client.SWFClient` that remembers what a
  live decider sent, keyed by ``(workflowId, runId, startedEventId)``; :class:`Live`, the
  decider (on a RecordingClient) and activity workers in threads; :func:`fetch_history`.
"""

import copy
import json
import sys
import threading
import time
from datetime import datetime, timezone

import golden_effects

from flowy import TaskError, finish_order, first, parallel_reduce, restart, wait
from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.decider import SWFWorkflowWorker
from flowy.swf.status import history_events

DOMAIN = 'golden'
DECISIONS = 'golden-decisions'
WORK = 'golden-work'
IDENTITY = 'golden-decider'
FORMAT = 1

# -- activities ------------------------------------------------------------------------------

activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=120,
                               default_schedule_to_close=240, default_schedule_to_start=120,
                               default_start_to_close=120)


@activities(version='1')
def square(n):
    return n * n


@activities(version='1')
def add(a, b):
    return a + b


@activities(version='1')
def double(n):
    return 2 * n


@activities(version='1')
def nap(seconds):
    """Sleep, then return the seconds slept: results finish in another order than called."""
    time.sleep(seconds)
    return seconds


@activities(version='1')
def explode(n):
    raise ValueError('cannot handle %d' % n)


SLOW = {'calls': 0, 'first_sleep': 2.5}


@activities(version='1')
def slow(n):
    """The first call of the process outlives its 1 s start-to-close timeout; then it is quick."""
    SLOW['calls'] += 1
    if SLOW['calls'] == 1:
        time.sleep(SLOW['first_sleep'])
    return n + 100


# -- workflows -------------------------------------------------------------------------------

golden = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=600,
                           default_decision_duration=30, default_child_policy='TERMINATE')
golden.conf_activity('square', version='1')
golden.conf_activity('add', version='1')
golden.conf_activity('double', version='1')
golden.conf_activity('nap', version='1')
golden.conf_activity('explode', version='1')
golden.conf_activity('slow', version='1', start_to_close=1, retry=(0, 1))
golden.conf_workflow('sum_squares', version='1', name='FanOut')
golden.conf_workflow('exploding', version='1', name='Explodes')


class _Golden:
    def __init__(self, square, add, double, nap, explode, slow, sum_squares, exploding):
        self.square = square
        self.add = add
        self.double = double
        self.nap = nap
        self.explode = explode
        self.slow = slow
        self.sum_squares = sum_squares
        self.exploding = exploding


@golden(version='1')
class FanOut(_Golden):
    """One square per number below ``n``, added up in the order they finish."""

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


@golden(version='1')
class Chain(_Golden):
    """Each call takes the previous one's result: one activity per decision."""

    def __call__(self, n):
        return self.square(self.add(self.double(n), 1))


@golden(version='1')
class Race(_Golden):
    """first() and finish_order() over naps that finish in another order than called."""

    def __call__(self, seconds):
        naps = [self.nap(s) for s in seconds]
        winner = first(naps)
        order = [wait(result) for result in finish_order(naps)]
        return {'first': wait(winner), 'order': order}


@golden(version='1')
class CaughtFailure(_Golden):
    """An activity fails; the body catches the TaskError and carries on."""

    def __call__(self, n):
        try:
            wait(self.explode(n))
        except TaskError as exc:
            return {'caught': str(exc), 'fallback': self.square(n)}
        return {'caught': None}


@golden(version='1')
class Patient(_Golden):
    """The first attempt of ``slow`` times out; the retry starts after a 1 s timer."""

    def __call__(self, n):
        return self.double(self.slow(n))


@golden(version='1')
class Explodes(_Golden):
    """Fails: its only activity raises (the failing child of Parent)."""

    def __call__(self, n):
        return self.explode(n)


@golden(version='1')
class Parent(_Golden):
    """Two child workflows: one completes, one fails and the failure is caught."""

    def __call__(self, n):
        total = self.sum_squares(n)
        try:
            wait(self.exploding(n))
        except TaskError as exc:
            failure = str(exc)
        else:
            failure = None
        return {'total': total, 'child_failure': failure}


@golden(version='1')
class Countdown(_Golden):
    """Continues as new once per number from ``n`` down to 1."""

    def __call__(self, n, total=0):
        total = total + wait(self.square(n))
        if n > 1:
            return restart(n - 1, total=total)
        return total


@golden(version='1')
class Drift(_Golden):
    """The version whose history is recorded for the non-determinism case."""

    def __call__(self, n):
        return self.add(self.square(n), 1)


class DriftChanged(_Golden):
    """Drift after an incompatible edit: task call #0 is now ``double``, not ``square``.

    Not decorated: :func:`make_decider` registers it under Drift's name and version, the
    way a deployment of the edited code without a new version would.
    """

    def __call__(self, n):
        return self.add(self.double(n), 1)


# rate_limit=3: at most three new calls per decision; the rest wait for wake-up timers
limited = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=600,
                            default_decision_duration=30, default_child_policy='TERMINATE',
                            rate_limit=3)
limited.conf_activity('square', version='1')


@limited(version='1')
class LimitedFanOut:
    """More calls than one decision may start: they go out three per decision."""

    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        return sum(wait(result) for result in [self.square(i) for i in range(n)])


def make_decider(driver='cached', changed=False, **options):
    """A decider running every golden workflow; ``changed``: DriftChanged as Drift 1."""
    decider = SWFWorkflowWorker(driver=driver, **options).scan(sys.modules[__name__])
    decider.scan(golden_effects)
    if changed:
        del decider.registry[('Drift', '1')]
        decider.register(golden, DriftChanged, '1', name='Drift')
    return decider


def make_activity_worker():
    return SWFActivityWorker().scan(sys.modules[__name__]).scan(golden_effects)


# -- the file format ---------------------------------------------------------------------------

TIMESTAMP = 'eventTimestamp'


def normalize(value):
    """``value`` as stored in a golden file (a JSON round trip): what comparisons use."""
    return json.loads(json.dumps(value))


def _event_to_json(event):
    event = dict(event)
    stamp = event[TIMESTAMP]
    event[TIMESTAMP] = stamp.astimezone(timezone.utc).isoformat()
    return event


def _event_from_json(event):
    event = dict(event)
    event[TIMESTAMP] = datetime.fromisoformat(event[TIMESTAMP])
    return event


LIST_KEYS = ('events', 'decisions', 'changedDecisions')  # written one item per line


def dump_golden(record):
    """The text of a golden file: one key per line, one event or decision point per line.

    ``record['events']`` holds boto3's events (datetimes); any other datetime in them
    makes this raise TypeError rather than be written some undocumented way.
    """
    record = dict(record, events=[_event_to_json(event) for event in record['events']])
    fields = []
    for key, value in record.items():
        if key in LIST_KEYS:
            text = '[\n' + ',\n'.join(json.dumps(item) for item in value) + '\n]'
        else:
            text = json.dumps(value)
        fields.append('%s: %s' % (json.dumps(key), text))
    return '{\n' + ',\n'.join(fields) + '\n}\n'


def load_golden(path):
    """A golden file as a dict; ``events`` with ``datetime`` timestamps, as boto3 gives them."""
    with open(path, encoding='utf-8') as stream:
        return load_golden_text(stream.read(), path)


def load_golden_text(text, where='golden record'):
    record = json.loads(text)
    assert record['format'] == FORMAT, '%s: unknown format %r' % (where, record['format'])
    record['events'] = [_event_from_json(event) for event in record['events']]
    return record


def decision_points(events):
    """``(startedEventId, previousStartedEventId)`` of every answered decision task.

    ``previousStartedEventId`` is what SWF sends: the started event of the previous decision
    task that was answered (0 for the first).
    """
    completed = {event['decisionTaskCompletedEventAttributes']['startedEventId']
                 for event in events if event['eventType'] == 'DecisionTaskCompleted'}
    points, previous = [], 0
    for event in events:
        if event['eventType'] == 'DecisionTaskStarted' and event['eventId'] in completed:
            points.append((event['eventId'], previous))
            previous = event['eventId']
    return points


# -- replaying a history through the decider ----------------------------------------------


class HistoryStub:
    """SWF's decision task calls over one recorded history, one decision point at a time.

    :meth:`offer` makes the history up to a ``DecisionTaskStarted`` the next task to poll
    (newest first when the decider asks for reverse order, in pages of ``page_size``);
    the decisions it gets back are in :attr:`responses`.  A poll with nothing offered
    answers like SWF's empty long poll.
    """

    def __init__(self, record, page_size=None):
        self.events = record['events']
        self.execution = {'workflowId': record['workflowId'], 'runId': record['runId']}
        self.workflow_type = dict(record['workflowType'])
        self.page_size = page_size
        self.offered = None
        self.pages = {}
        self.responses = {}  # startedEventId -> decisions
        self.polls = 0

    def offer(self, started, previous):
        self.offered = (started, previous)

    def poll_for_decision_task(self, domain, task_list, identity=None, next_page_token=None,
                               max_page_size=None, reverse_order=False):
        assert (domain, task_list) == (DOMAIN, DECISIONS), (domain, task_list)
        if next_page_token is not None:
            token, page = next_page_token.rsplit('|', 1)
            return self._page(token, int(page))
        self.polls += 1
        if self.offered is None:
            return {'startedEventId': 0, 'previousStartedEventId': 0}
        started, previous = self.offered
        self.offered = None
        events = copy.deepcopy([event for event in self.events if event['eventId'] <= started])
        assert events[-1]['eventType'] == 'DecisionTaskStarted', events[-1]
        if reverse_order:
            events.reverse()
        size = max_page_size or self.page_size or 1000
        if self.page_size:
            size = min(size, self.page_size)
        token = 'task-%d' % started
        self.pages[token] = [events[at:at + size] for at in range(0, len(events), size)]
        response = {'taskToken': token, 'startedEventId': started,
                    'previousStartedEventId': previous,
                    'workflowExecution': dict(self.execution),
                    'workflowType': dict(self.workflow_type)}
        response.update(self._page(token, 0))
        return response

    def get_workflow_execution_history(self, domain, workflow_id, run_id,
                                       next_page_token=None, max_page_size=None,
                                       reverse_order=False):
        """The whole recorded history (as SWF has it now), oldest first, in pages."""
        assert (workflow_id, run_id) == (self.execution['workflowId'],
                                         self.execution['runId'])
        assert not reverse_order
        start = int(next_page_token or 0)
        size = min(max_page_size or 1000, self.page_size or 1000)
        response = {'events': copy.deepcopy(self.events[start:start + size])}
        if start + size < len(self.events):
            response['nextPageToken'] = str(start + size)
        return response

    def _page(self, token, page):
        pages = self.pages[token]
        response = {'events': pages[page]}
        if page + 1 < len(pages):
            response['nextPageToken'] = '%s|%d' % (token, page + 1)
        return response

    def respond_decision_task_completed(self, task_token, decisions=None,
                                        execution_context=None):
        started = int(task_token.split('-')[1])
        assert started not in self.responses, 'task %s answered twice' % task_token
        self.responses[started] = copy.deepcopy(list(decisions or []))


def replay_decisions(record, decider, points=None, page_size=None):
    """Drive ``decider`` through the decision points of ``record`` (all by default).

    One stub serves the points in turn, as SWF would serve one execution's tasks to one
    decider, so a cached decider follows on incrementally.  Returns the normalized
    decisions per point: ``[(startedEventId, decisions or None if unanswered)]``.
    """
    stub = HistoryStub(record, page_size)
    if points is None:
        points = decision_points(record['events'])
    answers = []
    for started, previous in points:
        stub.offer(started, previous)
        task = decider.poll(stub, DOMAIN, DECISIONS, IDENTITY)
        assert task is not None, 'the decider did not take the task of event %d' % started
        decider.handle(stub, task)
        decider.flush()  # an answer held back goes now: the stub serves the next point at once
        decisions = stub.responses.get(started)
        answers.append((started, None if decisions is None else normalize(decisions)))
    return answers


def recorded_decisions(record):
    """The decisions of ``record`` in the form :func:`replay_decisions` returns."""
    return [(point['startedEventId'], point['decisions']) for point in record['decisions']]


# -- recording what a live decider sent --------------------------------------------------------


class RecordingClient(SWFClient):
    """An SWFClient that keeps every decision task polled and every response sent.

    ``sent`` maps ``(workflowId, runId, startedEventId)`` to the normalized decisions.
    """

    def __init__(self, client):
        super().__init__(client=client)
        self.tasks = {}  # taskToken -> (workflowId, runId, startedEventId)
        self.sent = {}

    def poll_for_decision_task(self, domain, task_list, identity=None, next_page_token=None,
                               max_page_size=None, reverse_order=False):
        response = super().poll_for_decision_task(
            domain, task_list, identity=identity, next_page_token=next_page_token,
            max_page_size=max_page_size, reverse_order=reverse_order)
        if next_page_token is None and response.get('taskToken'):
            execution = response['workflowExecution']
            self.tasks[response['taskToken']] = (execution['workflowId'], execution['runId'],
                                                 response['startedEventId'])
        return response

    def respond_decision_task_completed(self, task_token, decisions=None,
                                        execution_context=None):
        response = super().respond_decision_task_completed(task_token, decisions,
                                                           execution_context)
        self.sent[self.tasks[task_token]] = normalize(list(decisions or []))
        return response

    def runs(self):
        """``(workflowId, runId)`` of every execution the decider answered, in first-seen order."""
        return list(dict.fromkeys(key[:2] for key in self.sent))

    def decisions_of(self, workflow_id, run_id):
        """``[(startedEventId, decisions)]`` sent for one run, in event order."""
        return sorted((key[2], decisions) for key, decisions in self.sent.items()
                      if key[:2] == (workflow_id, run_id))


# -- the recorded cases, and running them live ---------------------------------------------------


class Case:
    """One golden history: ``golden/<name>.json``, a run of ``workflow(*args)``.

    ``shows``: event types its history must hold (what the case is about); ``act``: what
    the recording does to the run once started (``act(live, workflow_id, run_id)``).
    """

    def __init__(self, name, workflow, args, description, shows=(), changed=False, act=None):
        self.act = act
        self.name = name
        self.workflow = workflow
        self.args = args
        self.description = description
        self.shows = frozenset(shows)
        self.changed = changed  # also replayed with DriftChanged as Drift

    def __repr__(self):
        return '<Case %s>' % self.name

    @property
    def workflow_id(self):
        return 'golden-' + self.name.replace('_', '-')


CASES = [
    Case('fan_out', 'FanOut', [4], 'four squares fanned out, added up by parallel_reduce as '
         'they finish', shows={'ActivityTaskCompleted'}),
    Case('chain', 'Chain', [3], 'double, then add, then square: each call waits for the one '
         'before', shows={'ActivityTaskCompleted'}),
    Case('first_finish_order', 'Race', [[0.4, 0.0, 0.2]], 'first() and finish_order() over '
         'three naps that finish in another order than called',
         shows={'ActivityTaskCompleted'}),
    Case('caught_failure', 'CaughtFailure', [3], 'an activity fails (ActivityTaskFailed); the '
         'body catches the TaskError and schedules a fallback', shows={'ActivityTaskFailed'}),
    Case('timeout_retry', 'Patient', [2], 'the first attempt times out (START_TO_CLOSE); the '
         'retry waits for a 1 s timer (StartTimer, TimerFired), then succeeds',
         shows={'ActivityTaskTimedOut', 'TimerStarted', 'TimerFired'}),
    Case('child_workflows', 'Parent', [3], 'two child workflows: FanOut completes, Explodes '
         "fails and the parent catches it (the parent's history)",
         shows={'ChildWorkflowExecutionCompleted', 'ChildWorkflowExecutionFailed'}),
    Case('restart', 'Countdown', [2], 'the first run continues as new '
         "(ContinueAsNewWorkflowExecution); the old run's history",
         shows={'WorkflowExecutionContinuedAsNew'}),
    Case('rate_limited_fan_out', 'LimitedFanOut', [8], 'eight calls with rate_limit=3: three '
         'per decision, each decision but the last ending with a wake-up timer',
         shows={'TimerStarted', 'TimerFired'}),
    Case('nondeterministic', 'Drift', [5], 'recorded with Drift (task call #0 is square); '
         'replayed with DriftChanged (task call #0 is double) every decision after the first '
         'must fail the run as non-deterministic', shows={'ActivityTaskCompleted'},
         changed=True),
] + [Case(name, workflow, args, description, shows, act=act)
     for name, workflow, args, description, shows, act in golden_effects.CASES]

WAIT = 60  # seconds a live run may take to close


class Live:
    """A decider and activity workers in threads, on one boto3 SWF client (moto in tests).

    The decider's client is a :class:`RecordingClient` (:attr:`recording`).  Use it as a
    context manager: the threads start on entry and are stopped (and joined) on exit.
    """

    def __init__(self, client, driver='cached', workers=3):
        self.swf = SWFClient(client=client)
        self.swf.register_domain(DOMAIN)
        self.recording = RecordingClient(client)
        self.decider = make_decider(driver)
        self.decider.register_remote(self.swf, DOMAIN)
        self.workers = [make_activity_worker() for _ in range(workers)]
        self.workers[0].register_remote(self.swf, DOMAIN)
        SLOW['calls'] = 0  # the first slow call of this setup times out
        runs = [(self.decider, DECISIONS, IDENTITY, self.recording)]
        runs += [(worker, WORK, 'golden-worker-%d' % number, self.swf)
                 for number, worker in enumerate(self.workers, 1)]
        self.threads = [
            threading.Thread(target=worker.run_forever, args=(DOMAIN, task_list),
                             kwargs=dict(swf_client=worker_client, setup_log=False,
                                         register_remote=False, identity=identity),
                             daemon=True)
            for worker, task_list, identity, worker_client in runs]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        for worker in [self.decider] + self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(SLOW['first_sleep'] + 10)
        assert not any(thread.is_alive() for thread in self.threads), 'a worker did not stop'

    def start(self, case):
        """Start the case's workflow; its ``(runId, input)``."""
        workflow = self.decider.registry[(case.workflow, '1')]
        data = workflow._encode_input(case.args, {})
        response = self.swf.start_workflow_execution(DOMAIN, case.workflow_id, case.workflow,
                                                     '1', input=data)
        return response['runId'], data

    def closed(self, workflow_id, run_id):
        info = self.swf.describe_workflow_execution(DOMAIN, workflow_id, run_id)
        return info['executionInfo']['executionStatus'] == 'CLOSED'

    def wait_closed(self, workflow_id, run_id, timeout=WAIT):
        """Wait for the run and the runs it continued as to close; the last one's last event."""
        deadline = time.monotonic() + timeout
        while True:
            while not self.closed(workflow_id, run_id):
                if time.monotonic() > deadline:
                    raise TimeoutError('%s/%s did not close within %d s'
                                       % (workflow_id, run_id, timeout))
                time.sleep(0.02)
            last = fetch_history(self.swf, workflow_id, run_id)[-1]
            if last['eventType'] != 'WorkflowExecutionContinuedAsNew':
                return last
            run_id = last['workflowExecutionContinuedAsNewEventAttributes']['newExecutionRunId']


def fetch_history(swf, workflow_id, run_id):
    """Every event of a run, through every page of get_workflow_execution_history."""
    return history_events(swf, DOMAIN, workflow_id, run_id)
