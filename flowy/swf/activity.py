"""The activity worker: run activity tasks of one SWF task list, one at a time.

An activity is a plain function, called with exactly the arguments of the workflow's
call, so the same function runs as plain Python, on the local engine and here::

    activities = SWFActivityConfig(default_task_list='work', ...)

    @activities(version='1')
    def square(n):
        return n * n

    SWFActivityWorker().scan().run_forever('my-domain', 'work')

For each task the worker finds the function of the task's type, decodes the input with
the type's transport, calls the function with :func:`flowy.heartbeat` connected to
SWF's heartbeats, and answers SWF:

* the function returned: the task completed with the encoded result (a result larger
  than SWF's 32,768 characters travels through ``payload_store``; without one, the task
  fails with a reason naming the size);
* the function raised: the task failed, with the exception's message as the reason (cut
  to SWF's 256 characters) and its traceback and the name of its type in the details
  (see :mod:`flowy.swf.failures`), which the workflow's :class:`flowy.TaskError` then
  carries.  If SWF had asked for the
  task to be cancelled before that (a heartbeat returned True), the task is reported
  cancelled instead (``RespondActivityTaskCanceled``), and so is a task that returns
  after such a request: the workflow recorded the call cancelled when it asked, so a
  result would be read by nobody, and SWF's own record then says what happened.
  ``SystemExit`` (``sys.exit()``, or argparse refusing its
  arguments) is a failure of the task like any other, its reason ``SystemExit: 2``: the
  worker goes on with the next task.  ``KeyboardInterrupt`` fails the task, then stops
  the worker;
* the task's type is not one this worker runs, or its input cannot be decoded: the
  task fails with a reason that says so.  A worker that polled a task holds it: there
  is no way to hand it back to another worker, and leaving it unanswered only delays
  the failure until a timeout.  Every worker polling a task list must therefore run
  every activity type routed to that list (give other types their own task list).

While the function runs, :func:`flowy.context` gives a :class:`flowy.Context` with the
run's ``workflow_id`` and ``run_id``, ``key`` = the ``activityId`` (the call key) and
its ``attempt``; ``workflow``, the workflow type's name, is not in an activity task, so
it is read with ``DescribeWorkflowExecution`` when the activity first asks for it (and
remembered for the run).

When SWF no longer knows the task (it timed out, or its workflow closed), heartbeats
return True and the outcome is dropped: nobody would read it.  Errors of the calls to
SWF are logged, never raised: the worker goes on with the next task.
"""

import asyncio
import inspect
import logging
import time
import traceback

from .. import events
from ..errors import exception_line, exception_text
from ..heartbeat import MAX_DETAILS, encode_details, reporting
from ..run_context import Context, attempt_of, running
from .client import error_code
from .config import ACTIVITY_CATEGORY, SWFActivityConfig
from .failures import failure_fields, keep_end
from .payload import PayloadError, cut_reason, decode_field, encode_field
from .worker import Worker

__all__ = ['SWFActivityWorker', 'MAX_HEARTBEAT_DETAILS']

log = logging.getLogger('flowy.swf')

MAX_HEARTBEAT_DETAILS = MAX_DETAILS  # SWF's limit on RecordActivityTaskHeartbeat details
_GONE = 'UnknownResourceFault'


class SWFActivityWorker(Worker):
    """Polls a task list for activity tasks and runs the registered activities.

    Register activities with :meth:`scan` (functions decorated by an
    :class:`~flowy.swf.SWFActivityConfig`) or :meth:`register`, then call
    :meth:`run_forever`.  ``payload_store`` (a :class:`flowy.swf.payload.PayloadStore`)
    resolves inputs sent by reference and carries results too large for SWF; every
    process of a domain must use the same store.
    """

    category = ACTIVITY_CATEGORY
    config_class = SWFActivityConfig
    kind = 'activity'

    def __init__(self, payload_store=None):
        super().__init__()
        self.payload_store = payload_store
        self._workflow_names = {}  # (workflowId, runId) -> workflow type name (a few)
        self.domain = None

    def poll(self, client, domain, task_list, identity):
        """Wait for one activity task of ``task_list`` in ``domain`` (PollForActivityTask
        through ``client``, as ``identity``); return it, or None."""
        self.domain = domain  # flowy.context() looks the workflow type up in it
        task = client.poll_for_activity_task(domain, task_list, identity=identity)
        if not task or not task.get('taskToken'):
            return None  # the long poll ended without a task
        return task

    def handle(self, client, task):
        """Run the activity of ``task`` and answer SWF through ``client``: completed,
        failed (the reason, and the traceback and exception type in the details) or
        cancelled.  Never raises."""
        try:
            _Task(self, client, task).run()
        except Exception:  # a bug of flowy's own: keep the worker alive
            try:
                what = _describe_task(task)
            except Exception:
                what = repr(task)[:500]
            log.exception('handling the activity task %s failed', what)

    def known_types(self):
        """The (name, version) pairs this worker runs, sorted."""
        return sorted(self.registry)


class _Task:
    """One activity task, from its input to the answer sent to SWF."""

    def __init__(self, worker, client, task):
        self.worker = worker
        self.client = client
        self.token = task['taskToken']
        self.task = task
        activity_type = task.get('activityType') or {}
        self.type_key = (activity_type.get('name'), activity_type.get('version'))
        self.what = _describe_task(task)
        self.started = time.monotonic()

    def run(self):
        activity = self.worker.registry.get(self.type_key)
        if activity is None:
            known = ', '.join('%s %s' % key for key in self.worker.known_types()) or 'none'
            self._fail('this worker does not run the activity type %s version %s (it runs: %s)'
                       '; every worker polling a task list must run every activity type sent '
                       'to it' % (self.type_key + (known,)), level=logging.WARNING)
            return
        store = self.worker.payload_store
        transport = activity.config.transport
        try:
            text = decode_field(self.task.get('input'), store, 'the input of ' + self.what)
        except PayloadError as exc:  # it names the input and the reference
            self._fail(exception_text(exc), level=logging.WARNING)
            return
        try:
            if text is None:
                raise ValueError('the task has no input')
            args, kwargs = transport.loads(text)
            if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
                raise ValueError('it is not a pair of positional and keyword arguments')
        except Exception as exc:
            self._fail('cannot decode the input of %s with %r: %s'
                       % (self.what, transport, exception_text(exc)), level=logging.WARNING)
            return
        reporter = _Heartbeat(self.client, self.token, self.what)
        context = self._context()
        self._event(events.task_started, context)
        try:
            with reporting(reporter), running(lambda: context):
                value = activity.func(*args, **kwargs)
                if inspect.iscoroutine(value):  # an async def activity: run it to its end
                    value = asyncio.run(value)
        except (Exception, SystemExit) as exc:
            self._raised(exc, reporter)
            self._event(events.task_failed, context, reason=exception_text(exc),
                        cancelled=reporter.cancel_requested)
            return
        except BaseException as exc:  # KeyboardInterrupt: answer, then stop
            if not reporter.gone:
                self._fail('the activity worker was interrupted (%s) while running the '
                           'activity' % type(exc).__name__, details=_details(exc))
            raise
        self._returned(activity, value, reporter)
        if reporter.cancel_requested:
            self._event(events.task_failed, context, reason='cancelled', cancelled=True)
        else:
            self._event(events.task_finished, context)

    def _event(self, event, context, **fields):
        """Send ``event`` about this task (sender ``'swf-activity'``), if anyone listens."""
        if not event.receivers or not context.key:
            return
        call, _, attempt = context.key.rpartition('-')
        events.send(event, 'swf-activity', run_id=context.run_id, workflow=context.workflow,
                    key=context.key, dep=call.rpartition('-')[0], attempt=context.attempt,
                    **fields)

    def _context(self):
        execution = self.task.get('workflowExecution') or {}
        key = self.task.get('activityId')
        return _TaskContext(self, execution.get('workflowId'), execution.get('runId'), key,
                            attempt_of(key) if key else None)

    def workflow_name(self, workflow_id, run_id):
        """The workflow type name of the run (DescribeWorkflowExecution), or None."""
        names = self.worker._workflow_names
        found = names.get((workflow_id, run_id))
        if found is None and workflow_id and run_id:
            try:
                info = self.client.describe_workflow_execution(self.worker.domain,
                                                               workflow_id, run_id)
                found = info['executionInfo']['workflowType']['name']
            except Exception as exc:
                log.warning('%s: cannot tell the workflow type for flowy.context(): %s',
                            self.what, exception_line(exc))
                return None
            if len(names) >= 64:
                names.clear()
            names[(workflow_id, run_id)] = found
        return found

    def _raised(self, exc, reporter):
        # SystemExit's message is only its code: the reason says what it was
        reason = exception_line(exc) if isinstance(exc, SystemExit) else exception_text(exc)
        if reporter.gone:
            self._dropped('raised %s' % cut_reason(reason))
        elif reporter.cancel_requested:
            self._respond('cancelled', self.client.respond_activity_task_canceled,
                          details=_details(exc))
        else:
            self._fail(reason, details=_details(exc), type_name=type(exc).__name__)

    def _returned(self, activity, value, reporter):
        store = self.worker.payload_store
        transport = activity.config.transport
        if reporter.gone:
            self._dropped('returned')
            return
        if reporter.cancel_requested:
            self._respond('cancelled', self.client.respond_activity_task_canceled,
                          details='the activity returned after its cancellation was requested')
            return
        try:
            result = transport.dumps(value)
        except Exception as exc:
            self._fail('cannot encode the result of %s with %r: %s'
                       % (self.what, transport, exception_text(exc)))
            return
        try:
            result = encode_field(result, 'the result of ' + self.what, store)
        except PayloadError as exc:
            self._fail(exception_text(exc))
            return
        self._respond('completed', self.client.respond_activity_task_completed,
                      result=result)

    def _fail(self, reason, details=None, level=logging.INFO, type_name=None):
        # the whole reason travels in the details, with the traceback and the
        # exception's type beside it
        short, details = failure_fields(reason, details, type_name)
        self._respond('failed: %s' % short, self.client.respond_activity_task_failed,
                      level=level, reason=short, details=details)

    def _respond(self, outcome, method, level=logging.INFO, **fields):
        try:
            method(self.token, **fields)
        except Exception as exc:
            if error_code(exc) == _GONE:
                log.info('%s %s in %.2f s, but SWF no longer knows the task (it timed out, '
                         'or its workflow closed): %s', self.what, outcome, self._elapsed(),
                         exc)
            else:
                log.error('%s %s in %.2f s, but telling SWF failed (the task will time out): '
                          '%s', self.what, outcome, self._elapsed(), exc)
            return
        log.log(level, '%s %s in %.2f s', self.what, outcome, self._elapsed())

    def _dropped(self, outcome):
        log.info('%s %s in %.2f s, but SWF had dropped the task (it timed out, or its '
                 'workflow closed); nothing was sent', self.what, outcome, self._elapsed())

    def _elapsed(self):
        return time.monotonic() - self.started


class _Heartbeat:
    """The reporter behind :func:`flowy.heartbeat` while an activity task runs.

    It records a heartbeat on SWF and returns True once SWF asked for the task to be
    cancelled, or said it no longer knows the task (it timed out, or its workflow
    closed): SWF then takes no outcome for it, so nothing more is sent.  Any other
    error (network, throttling) is logged and the activity goes on: a missed heartbeat
    only matters if the next ones fail too.
    """

    def __init__(self, client, token, what):
        self.client = client
        self.token = token
        self.what = what
        self.cancel_requested = False
        self.gone = False

    def __call__(self, details=None):
        details = encode_details(details)
        if self.gone:
            return True
        try:
            response = self.client.record_activity_task_heartbeat(self.token, details=details)
        except Exception as exc:
            if error_code(exc) == _GONE:
                self.gone = True
                log.info('%s: SWF no longer knows the task (it timed out, or its workflow '
                         'closed); flowy.heartbeat() tells the activity to stop', self.what)
                return True
            log.warning('%s: recording a heartbeat failed; the activity goes on: %s',
                        self.what, exc)
            return self.cancel_requested
        if (response or {}).get('cancelRequested') and not self.cancel_requested:
            self.cancel_requested = True
            log.info('%s: cancellation requested; flowy.heartbeat() tells the activity to '
                     'stop', self.what)
        return self.cancel_requested


class _TaskContext(Context):
    """The Context of an activity task; ``workflow`` is looked up on first use."""

    __slots__ = ('_task', '_name')

    def __init__(self, task, workflow_id, run_id, key, attempt):
        super().__init__(None, workflow_id, run_id, key, attempt)
        self._task = task
        self._name = None

    @property
    def workflow(self):
        if self._name is None and self._task is not None:
            self._name = self._task.workflow_name(self.workflow_id, self.run_id)
            self._task = None
        return self._name

    @workflow.setter
    def workflow(self, value):
        self._name = value

    def __eq__(self, other):
        return isinstance(other, Context) and all(
            getattr(self, name) == getattr(other, name) for name in Context.__slots__)

    __hash__ = None

    def __reduce__(self):
        return Context, tuple(getattr(self, name) for name in Context.__slots__)


def _describe_task(task):
    activity_type = task.get('activityType') or {}
    execution = task.get('workflowExecution') or {}
    return 'activity %s %s (%s of workflow %s)' % (
        activity_type.get('name', '?'), activity_type.get('version', '?'),
        task.get('activityId', '?'), execution.get('workflowId', '?'))


def _details(exc):
    """The exception's traceback as Python prints it (ending with the whole message)."""
    try:
        text = ''.join(traceback.format_exception(exc))
    except Exception:
        text = exception_line(exc)
    return keep_end(text)

