"""Draw an SWF workflow execution from its stored history, as the local tracer draws a run.

::

    from flowy.swf.trace import trace_execution, write_execution_trace
    from flowy.trace_render import to_dot

    runs = trace_execution(client, 'my-domain', workflow_id)    # {run id: TraceRun}
    print(to_dot(runs))
    write_execution_trace(client, 'my-domain', workflow_id, 'traces/order-17')

The events of each run (``get_workflow_execution_history``) are read with
:class:`~flowy.swf.history.ExecutionHistory`, which gives every call key its outcome
(completed, failed, timed out, cancelled, or still running) exactly as the decider saw
it; the events themselves give what each call is (an activity or a child workflow and
its type's name, a ``sleep()`` timer ``@sleep``, a recorded value ``@marker``/``@now``,
a signal received ``@signal``), its input, the decision that started it (the count of
``DecisionTaskCompleted`` events up to the one that scheduled it) and its times: when it
was scheduled, started (``ActivityTaskStarted``, ``ChildWorkflowExecutionStarted``) and
ended (the event that recorded its outcome), from the events' timestamps.  The result
is :class:`flowy.trace_render.TraceRun` objects, which :func:`flowy.trace_render.to_dot`
draws.

A run that continued as new (``restart``) is followed to the run it continued as, and
the child workflows to their own histories (``children=False`` draws them as calls
only); at most ``max_runs`` histories are read.  Without ``run_id`` the trace starts at
the first run of the latest execution's chain of continue-as-new runs.

SWF keeps no record of which results a call used, so the calls of a run all hang from
its start node (the local engine draws those edges).  Values stored in a payload store
are read from ``payload_store`` when given; otherwise (or when they cannot be read) the
reference is shown in their place.
"""

from collections import Counter

from ..history import BUILTIN, COMPLETED, call_id, signal_key
from ..serialization import loads
from ..trace_files import write_trace
from ..trace_render import (
    GROUP_OVER,
    MAX_RUNS,
    SHOW_OVER,
    TraceCall,
    TraceRun,
    to_dot,
)
from .client import error_code
from .effect_events import decision_time, is_body_timer
from .effects import CANCELLED_MARKER, read_marker
from .events import attributes_key
from .failures import full_reason
from .history import ExecutionHistory
from .names import CALL_FAILED_MARKER
from .payload import decode_field
from .status import UnknownExecution, history_events, latest_run_id

__all__ = ['trace_execution', 'trace_events', 'execution_dot', 'write_execution_trace']

_RUN_CLOSED = {
    'WorkflowExecutionCompleted': 'completed',
    'WorkflowExecutionFailed': 'failed',
    'WorkflowExecutionCanceled': 'cancelled',
    'WorkflowExecutionTerminated': 'interrupted',
    'WorkflowExecutionTimedOut': 'timedout',
    'WorkflowExecutionContinuedAsNew': 'restarted',
}
_BUILTIN_KINDS = {'@sleep': 'timer', '@marker': 'marker', '@now': 'marker',
                  '@signal': 'signal'}


class _Readable:
    """A payload store for reading only: a reference that cannot be read stays itself."""

    def __init__(self, store):
        self.store = store

    def get(self, reference):
        if self.store is not None:
            try:
                value = self.store.get(reference)
            except Exception:
                return reference
            if type(value) is str:
                return value
        return reference

    def __repr__(self):
        return '<readable %r>' % (self.store,)


class RunLinks:
    """What a run's history says about the other runs to draw.

    ``continued_from`` and ``continued_as``: the run ids before and after it in a chain
    of continue-as-new runs (None at either end); ``children``: ``(workflow id, run id,
    call key)`` of each child workflow that started.
    """

    __slots__ = ('continued_from', 'continued_as', 'children')

    def __init__(self):
        self.continued_from = None
        self.continued_as = None
        self.children = []


def _attributes(event):
    return event.get(attributes_key(event.get('eventType', ''))) or {}


def _dep_of_key(key):
    """The dependency name a key stands for when the events name none."""
    if key[:1] == BUILTIN:
        return '@signal' if key.startswith('@signal-') else key.rpartition('-')[0]
    return call_id(key).rpartition('-')[0]


def trace_events(events, workflow_id=None, run_id=None, parent=None, parent_key=None,
                 payload_store=None):
    """``(TraceRun, RunLinks)`` of one run from its history ``events`` (as boto3 gives
    them, oldest first, from event 1).

    ``run_id`` names the run (default: ``workflow_id``); ``parent`` and ``parent_key``
    are the run id of its parent and the key of the call that started it, if it is a
    child workflow that is drawn with its parent.  Raises
    :class:`~flowy.swf.events.HistoryError` for events flowy cannot read.
    """
    readable = _Readable(payload_store)
    execution = ExecutionHistory(workflow_id, store=readable)
    history = execution.history
    run = TraceRun(run_id or workflow_id, '?', parent, parent_key)
    links = RunLinks()
    calls = run.tasks
    by_event = {}  # id of the event that started a call -> its key
    hints = {}  # key -> (dep, kind) of a call that failed before it started
    decisions = {}  # id of a DecisionTaskCompleted -> its number, from 1
    child_ids = {}  # key -> the child's workflow id
    signals = Counter()

    def add(key, dep, kind, decision=None, input=None, at=None):
        call = calls.get(key)
        if call is None:
            call = calls[key] = TraceCall(key, dep, kind, (), decision, input, at)
        return call

    for event in events:
        before = history.finished
        execution.feed([event])
        kind = event.get('eventType')
        at = decision_time(event)
        attributes = _attributes(event)
        event_id = event.get('eventId')
        decision = decisions.get(attributes.get('decisionTaskCompletedEventId'))
        if kind == 'DecisionTaskCompleted':
            decisions[event_id] = len(decisions) + 1
        elif kind == 'WorkflowExecutionStarted':
            run.name = execution.workflow_name
            run.input = execution.input
            run.started = at
            links.continued_from = execution.continued_execution_run_id
        elif kind == 'ActivityTaskScheduled':
            key = attributes.get('activityId')
            if key and key not in calls:
                by_event[event_id] = key
                add(key, (attributes.get('activityType') or {}).get('name') or _dep_of_key(key),
                    'activity', decision, _read(attributes.get('input'), readable), at)
        elif kind == 'ActivityTaskStarted':
            key = by_event.get(attributes.get('scheduledEventId'))
            if key is not None:
                calls[key].started = at
        elif kind == 'StartChildWorkflowExecutionInitiated':
            key = execution.child_key_at(event_id)
            if key is not None and key not in calls:
                by_event[event_id] = key
                child_ids[key] = attributes.get('workflowId')
                add(key, (attributes.get('workflowType') or {}).get('name') or _dep_of_key(key),
                    'workflow', decision, _read(attributes.get('input'), readable), at)
        elif kind == 'ChildWorkflowExecutionStarted':
            key = by_event.get(attributes.get('initiatedEventId'))
            if key is not None:
                calls[key].started = at
                started = attributes.get('workflowExecution') or {}
                if started.get('runId'):
                    links.children.append((started.get('workflowId') or child_ids.get(key),
                                            started['runId'], key))
        elif kind == 'TimerStarted':
            key = attributes.get('timerId') or ''
            if is_body_timer(key) and key not in calls:
                call = add(key, _dep_of_key(key), 'timer', decision,
                           attributes.get('startToFireTimeout'), at)
                call.started = at
        elif kind == 'MarkerRecorded':
            _marker(attributes, decision, at, add, hints)
        elif kind == 'WorkflowExecutionSignaled':
            name = attributes.get('signalName') or ''
            key = signal_key(name, signals[name])
            signals[name] += 1
            call = add(key, '@signal', 'signal', decision, None, at)
            call.started = at
        elif kind == 'ScheduleActivityTaskFailed':
            hints.setdefault(attributes.get('activityId'), (
                (attributes.get('activityType') or {}).get('name'), 'activity'))
        elif kind == 'StartChildWorkflowExecutionFailed':
            key = execution.child_key(attributes.get('workflowId') or '')
            hints.setdefault(key, ((attributes.get('workflowType') or {}).get('name'),
                                   'workflow'))
        elif kind in _RUN_CLOSED:
            _closed(run, links, kind, attributes, readable)
            run.finished = at
        for key in history.finished_since(before):
            dep, what = hints.get(key) or (None, None)
            dep = dep or _dep_of_key(key)
            call = add(key, dep, what or _BUILTIN_KINDS.get(dep, 'activity'), decision, None, at)
            call.finished = at
    for key, call in calls.items():
        outcome = history.get(key)
        if outcome is None:
            continue
        call.state = outcome.state
        if outcome.state == COMPLETED:
            call.detail = outcome.data
        else:
            call.detail = outcome.reason or ''
    return run, links


def _read(text, readable):
    """A value as SWF holds it, or what its payload reference names (if it can be read)."""
    try:
        return decode_field(text, readable)
    except Exception:
        return text


def _marker(attributes, decision, at, add, hints):
    name = attributes.get('markerName')
    details = attributes.get('details')
    found = read_marker(details)
    if name == CALL_FAILED_MARKER or found is None:
        return
    key, _, value = found
    if value is None:
        if name == CANCELLED_MARKER:  # a call cancelled before it started
            hints.setdefault(key, (_dep_of_key(key), None))
        return
    if key[:1] == BUILTIN:
        call = add(key, _dep_of_key(key), 'marker', decision, name, at)
        call.started = at


def _closed(run, links, kind, attributes, readable):
    run.state = _RUN_CLOSED[kind]
    if kind == 'WorkflowExecutionCompleted':
        result = _read(attributes.get('result'), readable)
        run.detail = 'null' if result is None else result
    elif kind == 'WorkflowExecutionFailed':
        run.detail = full_reason(attributes.get('reason'), attributes.get('details'),
                                 'the run failed')
    elif kind == 'WorkflowExecutionCanceled':
        run.detail = attributes.get('details') or 'the run was cancelled'
    elif kind == 'WorkflowExecutionTerminated':
        reason = full_reason(attributes.get('reason'), attributes.get('details'))
        run.detail = 'terminated%s' % (': %s' % reason if reason else '')
    elif kind == 'WorkflowExecutionTimedOut':
        run.detail = 'the run timed out (%s)' % (attributes.get('timeoutType') or 'START_TO_CLOSE')
    else:
        run.detail = _read(attributes.get('input'), readable)
        links.continued_as = attributes.get('newExecutionRunId')


def _client(swf_client):
    from .worker import as_client

    return as_client(swf_client)


def trace_execution(swf_client, domain, workflow_id, run_id=None, children=True,
                    restarts=True, payload_store=None, max_runs=MAX_RUNS):
    """The :class:`~flowy.trace_render.TraceRun` objects of an SWF execution, by run id.

    ``swf_client`` is an :class:`~flowy.swf.client.SWFClient`, a boto3 SWF client or
    None (a new client configured by the environment).  ``run_id`` is the run to start
    from; None: the first run of the chain of continue-as-new runs that ends with the
    latest run of ``workflow_id``.  With ``restarts``, the runs it continued as are
    followed; with ``children``, the runs of its child workflows (and theirs).  At most
    ``max_runs`` histories are read.  ``payload_store`` reads values that were too
    large for SWF.  Raises :class:`~flowy.swf.status.UnknownExecution` when SWF knows
    no such execution.
    """
    client = _client(swf_client)
    read = {}

    def events_of(wid, rid):
        if (wid, rid) not in read:
            try:
                read[wid, rid] = history_events(client, domain, wid, rid)
            except Exception as exc:
                if error_code(exc) == 'UnknownResourceFault':
                    raise UnknownExecution('SWF knows no execution %s (run %s) in the domain '
                                           '%s' % (wid, rid, domain)) from exc
                raise
        return read[wid, rid]

    if run_id is None:
        run_id = latest_run_id(client, domain, workflow_id)
        if restarts:
            run_id = _first_of_chain(events_of, workflow_id, run_id, payload_store, max_runs)
    runs = {}
    queue = [(workflow_id, run_id, None, None)]
    while queue and len(runs) < max_runs:
        wid, rid, parent, parent_key = queue.pop(0)
        if rid in runs:
            continue
        run, links = trace_events(events_of(wid, rid), wid, rid, parent, parent_key,
                                  payload_store)
        runs[rid] = run
        if restarts and links.continued_as:
            run.restarted_as = links.continued_as
            queue.append((wid, links.continued_as, parent, parent_key))
        if children:
            queue.extend((child_wid, child_rid, rid, key)
                         for child_wid, child_rid, key in links.children)
    return runs


def _first_of_chain(events_of, workflow_id, run_id, payload_store, max_runs):
    """The first run of the continue-as-new runs that led to ``run_id`` (at most
    ``max_runs`` back)."""
    seen = {run_id}
    for _ in range(max_runs - 1):
        _, links = trace_events(events_of(workflow_id, run_id), workflow_id, run_id,
                                payload_store=payload_store)
        earlier = links.continued_from
        if not earlier or earlier in seen:
            break
        seen.add(earlier)
        run_id = earlier
    return run_id


def execution_dot(swf_client, domain, workflow_id, run_id=None, decode=loads,
                  group_over=GROUP_OVER, show_over=SHOW_OVER, legend=True, **options):
    """The Graphviz DOT text of :func:`trace_execution` (``options`` go to it)."""
    runs = trace_execution(swf_client, domain, workflow_id, run_id, **options)
    return to_dot(runs, decode, group_over, show_over, legend)


def write_execution_trace(swf_client, domain, workflow_id, path, run_id=None, decode=loads,
                          timeout=None, **options):
    """Write ``path + '.dot'`` and, when Graphviz is installed, ``path + '.svg'`` of an
    SWF execution (see :func:`trace_execution` for ``options``); return the paths
    written.  Reading the history raises as :func:`trace_execution` does; writing and
    drawing only warn (:class:`flowy.trace_files.TraceWarning`), as for local traces.
    """
    runs = trace_execution(swf_client, domain, workflow_id, run_id, **options)
    return write_trace(lambda: to_dot(runs, decode), path, timeout)
