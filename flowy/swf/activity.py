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
  to SWF's 256 characters) and its traceback as the details.  If SWF had asked for the
  task to be cancelled before that (a heartbeat returned True), the task is reported
  cancelled instead.  ``SystemExit`` (``sys.exit()``, or argparse refusing its
  arguments) is a failure of the task like any other, its reason ``SystemExit: 2``: the
  worker goes on with the next task.  ``KeyboardInterrupt`` fails the task, then stops
  the worker;
* the task's type is not one this worker runs, or its input cannot be decoded: the
  task fails with a reason that says so.  A worker that polled a task holds it: there
  is no way to hand it back to another worker, and leaving it unanswered only delays
  the failure until a timeout.  Every worker polling a task list must therefore run
  every activity type routed to that list (give other types their own task list).

When SWF no longer knows the task (it timed out, or its workflow closed), heartbeats
return True and the outcome is dropped: nobody would read it.  Errors of the calls to
SWF are logged, never raised: the worker goes on with the next task.
"""

import logging
import time
import traceback

from ..errors import exception_line, exception_text
from ..heartbeat import MAX_DETAILS, encode_details, reporting
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

    def poll(self, client, domain, task_list, identity):
        task = client.poll_for_activity_task(domain, task_list, identity=identity)
        if not task or not task.get('taskToken'):
            return None  # the long poll ended without a task
        return task

    def handle(self, client, task):
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
        try:
            with reporting(reporter):
                value = activity.func(*args, **kwargs)
        except (Exception, SystemExit) as exc:
            self._raised(exc, reporter)
            return
        except BaseException as exc:  # KeyboardInterrupt: answer, then stop
            if not reporter.gone:
                self._fail('the activity worker was interrupted (%s) while running the '
                           'activity' % type(exc).__name__, details=_details(exc))
            raise
        self._returned(activity, value, reporter)

    def _raised(self, exc, reporter):
        # SystemExit's message is only its code: the reason says what it was
        reason = exception_line(exc) if isinstance(exc, SystemExit) else exception_text(exc)
        if reporter.gone:
            self._dropped('raised %s' % cut_reason(reason))
        elif reporter.cancel_requested:
            self._respond('cancelled', self.client.respond_activity_task_canceled,
                          details=_details(exc))
        else:
            self._fail(reason, details=_details(exc))

    def _returned(self, activity, value, reporter):
        store = self.worker.payload_store
        transport = activity.config.transport
        if reporter.gone:
            self._dropped('returned')
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

    def _fail(self, reason, details=None, level=logging.INFO):
        # the whole reason travels in the details, with the traceback beside it
        short, details = failure_fields(reason, details)
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

