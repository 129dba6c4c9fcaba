"""Record a local run and draw it: every task, what it depended on, how it ended.

Each workflow run (the root, each child, each restarted run) is a cluster; each task is
a node labelled with its call key, the decision that started it and its result (as a
Python repr) or error, with the full input, outcome and timings in its tooltip; edges go
from the results a call used to the call.  Many calls of one task are drawn as one node
(see :mod:`flowy.trace_render`, which draws stored histories the same way).  The picture
is Graphviz DOT, rendered to SVG when the Graphviz programs are installed.

Drawing is a by-product of a run: :meth:`Tracer.write` never raises for a trace it
cannot write or draw, it warns (:class:`TraceWarning`) and goes on, so that a trace
never takes the place of the run's result or error.
"""

import logging
import time

from .. import trace_files, trace_render
from ..decision import Cancelled, Fail, Finish, Restart
from ..history import call_id
from ..trace_files import TraceWarning
from ..trace_render import GROUP_OVER, SHOW_OVER, TraceCall, TraceRun, call_state
from .store_records import was_cancelled

__all__ = ['RENDER_TIMEOUT', 'TraceWarning', 'Tracer', 'write_trace', 'runs_from_store']

logger = logging.getLogger('flowy')

#: Seconds that :meth:`Tracer.write` lets Graphviz render an SVG before it gives up
#: (the DOT file is written in any case).  Large traces take Graphviz minutes.
RENDER_TIMEOUT = 30.0

_KINDS = {'@sleep': 'timer', '@marker': 'marker', '@now': 'marker', '@signal': 'signal'}


class Tracer:
    """Collects what happened in one ``LocalWorkflow.run(..., _trace=tracer)``.

    After the run, :meth:`to_dot` gives the DOT source and :meth:`write` saves it (and an
    SVG when Graphviz is installed).  ``workflows`` maps run ids to what was recorded
    (:class:`~flowy.trace_render.TraceRun` objects, their calls in ``tasks``).

    ``decode`` turns encoded values into Python values for display (tagged JSON by
    default; values it cannot decode are shown as their text).  More than
    ``group_over`` calls of one task in one run that used results of the same tasks
    are drawn as one node, with at most ``show_over`` of those that did not complete
    drawn on their own; ``legend`` adds a legend.  ``clock`` gives the times shown in
    tooltips (seconds; :func:`time.monotonic`).
    """

    def __init__(self, decode=trace_render.loads, group_over=GROUP_OVER, show_over=SHOW_OVER,
                 legend=True, clock=time.monotonic):
        self.workflows = {}
        self.decode = decode
        self.group_over = group_over
        self.show_over = show_over
        self.legend = legend
        self.clock = clock

    # -- what the engine reports -------------------------------------------------
    # The engine calls these from its event loop; none of them raises for a call or a
    # run it did not hear of before (a trace never makes a run fail).

    def workflow_started(self, run_id, name, parent_id, parent_key, input=None):
        """Run ``run_id`` of workflow ``name`` started (``input``: its encoded input)."""
        self.workflows[run_id] = TraceRun(run_id, name, parent_id, parent_key, input,
                                          self.clock())

    def scheduled(self, run_id, key, dep, kind, depends_on, decision, input=None):
        """Decision ``decision`` scheduled call ``key`` (``input``: its encoded input)."""
        self._run(run_id).tasks[key] = TraceCall(key, dep, kind, tuple(depends_on), decision,
                                                 input, self.clock())

    def call_failed(self, run_id, key, dep, decision, reason, input=None, kind='activity'):
        """Call ``key`` failed before it could start (or was cancelled before it did)."""
        task = TraceCall(key, dep, kind, (), decision, input, self.clock())
        self._run(run_id).tasks[key] = task
        task.state, task.detail = call_state(key, reason), reason
        task.finished = task.scheduled

    def started(self, run_id, key):
        """A worker started call ``key`` (optional: the time it left the queue)."""
        self._task(run_id, key).started = self.clock()

    def completed(self, run_id, key, data):
        """Call ``key`` returned ``data`` (encoded)."""
        task = self._task(run_id, key)
        task.state, task.detail, task.finished = 'completed', data, self.clock()

    def failed(self, run_id, key, reason, state=None):
        """Call ``key`` ended with ``reason``: ``state`` ``'failed'``, ``'timedout'`` or
        ``'cancelled'``, by default read from the reason's wording."""
        task = self._task(run_id, key)
        task.state = state or call_state(key, reason)
        task.detail, task.finished = reason, self.clock()

    def workflow_finished(self, run_id, outcome):
        workflow = self._run(run_id)
        workflow.finished = self.clock()
        if type(outcome) is Finish:
            workflow.state, workflow.detail = 'completed', outcome.result
        elif type(outcome) is Cancelled:
            workflow.state, workflow.detail = 'cancelled', outcome.reason
        elif isinstance(outcome, Fail):
            workflow.state, workflow.detail = 'failed', outcome.reason
        elif type(outcome) is Restart:
            workflow.state, workflow.detail = 'restarted', outcome.input

    def restarted(self, run_id, successor_id):
        self._run(run_id).restarted_as = successor_id

    def _run(self, run_id):
        run = self.workflows.get(run_id)
        if run is None:
            run = self.workflows[run_id] = TraceRun(run_id, '?', None, None)
        return run

    def _task(self, run_id, key):
        tasks = self._run(run_id).tasks
        task = tasks.get(key)
        if task is None:
            dep = key.rpartition('-')[0] if key[:1] == '@' else call_id(key).rpartition('-')[0]
            task = tasks[key] = TraceCall(key, dep, _KINDS.get(dep, 'activity'), (), None)
        return task

    # -- the picture ----------------------------------------------------------------

    def to_dot(self):
        """The trace as Graphviz DOT source text."""
        return trace_render.to_dot(self.workflows, self.decode, self.group_over,
                                   self.show_over, self.legend)

    def write(self, path, timeout=None):
        """Write ``path + '.dot'``, and ``path + '.svg'`` if Graphviz renders it in time.

        Returns the paths written.  Rendering is abandoned after ``timeout`` seconds
        (default :data:`RENDER_TIMEOUT`).  Nothing that goes wrong here raises: a missing
        Graphviz, a renderer that fails or is too slow, a file that cannot be written,
        each gives a :class:`TraceWarning` naming the file and the reason.
        """
        return write_trace(self.to_dot, path, timeout)


def write_trace(source, path, timeout=None):
    """Write the DOT text that ``source()`` returns to ``path + '.dot'`` and render
    ``path + '.svg'``, as :meth:`Tracer.write` does (see
    :func:`flowy.trace_files.write_trace`; the default timeout is this module's
    :data:`RENDER_TIMEOUT`)."""
    return trace_files.write_trace(source, path,
                                   RENDER_TIMEOUT if timeout is None else timeout)


_STORED_RUN_STATES = {'finished': 'completed', 'failed': 'failed',
                      'interrupted': 'interrupted', 'restarted': 'restarted',
                      'running': 'running'}


def runs_from_store(store, run_id, children=True):
    """The :class:`TraceRun` objects of stored run ``run_id`` of ``store`` (a
    :class:`~flowy.local.store.SQLiteStore`): the run, its restarts, and (if
    ``children``) its child runs and theirs, in the order they were created."""
    runs, queue, seen = {}, [run_id], set()
    while queue:
        record = store.run(queue.pop(0))
        if record.id in seen:
            continue
        seen.add(record.id)
        kids = store.runs(parent=record.id) if children else []
        workflow_keys = {kid.parent_key for kid in kids}
        run = TraceRun(record.id, record.workflow, record.parent, record.parent_key,
                       input=record.input, started=record.created)
        run.state = _STORED_RUN_STATES.get(record.state, record.state)
        if run.state == 'failed' and was_cancelled(record):
            run.state = 'cancelled'
        if run.state == 'completed':
            run.detail = record.result
        elif run.state in ('failed', 'cancelled'):
            run.detail = record.reason
        if run.state != 'running':
            run.finished = record.updated
        for stored in store.calls(record.id):
            kind = _KINDS.get(stored.dep)
            if kind is None:
                kind = 'workflow' if stored.key in workflow_keys else 'activity'
            dep = stored.dep if stored.dep is not None else call_id(stored.key).rpartition('-')[0]
            call = TraceCall(stored.key, dep, kind, tuple(stored.depends_on or ()), None,
                             input=stored.input, scheduled=stored.started)
            if kind == 'timer':
                call.scheduled = None  # a timer's start is the time it is due
            call.state = stored.state
            call.detail = stored.data if stored.state == 'completed' else (stored.reason or '')
            call.started = call.scheduled
            call.finished = stored.finished
            if kind == 'signal':
                call.scheduled = call.started = stored.finished
            run.tasks[stored.key] = call
        successor = store.successor(record.id)
        if successor is not None:
            run.restarted_as = successor.id
            run.state, run.detail = 'restarted', successor.input
            queue.append(successor.id)
        queue.extend(kid.id for kid in kids)
        runs[record.id] = run
    return runs
