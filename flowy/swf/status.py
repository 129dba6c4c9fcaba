"""Look up a workflow execution on SWF, and wait for its outcome.

::

    status = describe_execution(client, 'my-domain', workflow_id)
    print(status.status, status.close_status)        # CLOSED COMPLETED
    result = wait_for_result(client, 'my-domain', workflow_id, timeout=600)

``run_id=None`` means the latest run of the workflow id: the open one if there is one,
else the one that started last.  An execution that continued as new (``restart``) is
followed to its newest run, so the status and the result are those of the workflow as
a whole.  The result is decoded with the transport (tagged JSON by default) and, when
it is a payload reference, read from the payload store.

``swf_client`` is an :class:`~flowy.swf.client.SWFClient`, a boto3 SWF client or None
(a new client configured by the environment).
"""

import datetime
import time

from ..config import check_transport
from ..errors import FlowyError, TaskCancelled, TaskError, TaskTimedout
from .client import error_code
from .events import attributes_key
from .failures import extra_details, failure_type, full_reason
from .payload import decode_field

__all__ = ['ExecutionStatus', 'UnknownExecution', 'describe_execution', 'wait_for_result',
           'history_events', 'latest_run_id', 'list_executions', 'CLOSE_STATUSES']

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MAX_PAGES = 1000  # pages read in one listing of runs, or one history
_MAX_HOPS = 10000  # continue-as-new runs followed in one look-up

_CLOSE_EVENTS = {
    'WorkflowExecutionCompleted': 'COMPLETED',
    'WorkflowExecutionFailed': 'FAILED',
    'WorkflowExecutionCanceled': 'CANCELED',
    'WorkflowExecutionTerminated': 'TERMINATED',
    'WorkflowExecutionTimedOut': 'TIMED_OUT',
    'WorkflowExecutionContinuedAsNew': 'CONTINUED_AS_NEW',
}

CLOSE_STATUSES = ('COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'CONTINUED_AS_NEW',
                  'TIMED_OUT')


class UnknownExecution(FlowyError, LookupError):
    """SWF knows no such execution in the domain (or no such domain)."""


class ExecutionStatus:
    """What SWF tells about one run of a workflow execution.

    ``status`` is ``'OPEN'`` or ``'CLOSED'``; ``close_status`` one of COMPLETED, FAILED,
    CANCELED, TERMINATED, TIMED_OUT (or None while open).  ``workflow_type`` is
    ``(name, version)``; ``start_time`` and ``close_time`` are datetimes (None when
    unknown).  ``result`` is the decoded result of a completed run, ``result_text`` the
    text SWF holds.  ``reason`` and ``details`` say why a run did not complete (for a
    timeout, the kind of timeout); for a run that failed because a task failed,
    ``details`` is the task's traceback and ``type_name`` the name of the type of the
    exception it raised (None when not known).  ``runs`` lists the run ids followed from the one
    asked about to this one (more than one after continue-as-new).
    """

    def __init__(self, workflow_id, run_id, status, close_status=None, workflow_type=None,
                 start_time=None, close_time=None, result_text=None, reason=None,
                 details=None, runs=None, transport=None, payload_store=None):
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.status = status
        self.close_status = close_status
        self.workflow_type = workflow_type
        self.start_time = start_time
        self.close_time = close_time
        self.result_text = result_text
        self.reason = reason
        self.details = details
        self.type_name = None
        self.runs = list(runs or [run_id])
        self._transport = check_transport(transport)
        self._payload_store = payload_store

    def __repr__(self):
        return '<ExecutionStatus %s run %s %s%s>' % (
            self.workflow_id, self.run_id, self.status,
            '' if self.close_status is None else ' ' + self.close_status)

    @property
    def open(self):
        return self.status == 'OPEN'

    @property
    def completed(self):
        return self.close_status == 'COMPLETED'

    @property
    def result(self):
        """The result of a completed run, decoded (None if it has none, or is not done)."""
        if not self.completed or self.result_text is None:
            return None
        text = decode_field(self.result_text, self._payload_store,
                            'the result of the workflow execution %s' % self.workflow_id)
        return self._transport.loads(text)

    def error(self):
        """The :class:`flowy.TaskError` a run that closed without completing stands for.

        None for an open or completed run.  A timed-out run gives :class:`TaskTimedout`,
        a cancelled one :class:`flowy.TaskCancelled`.
        """
        if self.open or self.completed:
            return None
        what = 'the workflow execution %s (run %s)' % (self.workflow_id, self.run_id)
        if self.close_status == 'FAILED':
            return TaskError(self.reason or '%s failed without a reason' % what,
                             type_name=self.type_name, traceback=self.details)
        if self.close_status == 'TIMED_OUT':
            return TaskTimedout('%s timed out (%s)' % (what, self.reason or 'START_TO_CLOSE'))
        if self.close_status == 'TERMINATED':
            return TaskError('%s was terminated%s' % (
                what, ': %s' % self.reason if self.reason else ''))
        if self.close_status == 'CANCELED':
            return TaskCancelled('%s was canceled%s' % (
                what, ': %s' % self.details if self.details else ''))
        return TaskError('%s closed as %s' % (what, self.close_status))

    def outcome(self):
        """The result of a completed run; raises its :meth:`error` for any other close."""
        error = self.error()
        if error is not None:
            raise error
        if self.open:
            raise ValueError('the workflow execution %s (run %s) is still open'
                             % (self.workflow_id, self.run_id))
        return self.result

    def to_dict(self, include_result=True):
        """A JSON-friendly dict (times in ISO 8601, the result decoded unless left out)."""
        return {
            'workflow_id': self.workflow_id,
            'run_id': self.run_id,
            'workflow_type': None if self.workflow_type is None else {
                'name': self.workflow_type[0], 'version': self.workflow_type[1]},
            'status': self.status,
            'close_status': self.close_status,
            'start_time': _iso(self.start_time),
            'close_time': _iso(self.close_time),
            'result': self.result if include_result else None,
            'reason': self.reason,
            'details': self.details,
            'type_name': self.type_name,
            'runs': list(self.runs),
        }


def _iso(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def _client(swf_client):
    from .worker import as_client

    return as_client(swf_client)


def _boto3(client):
    """The boto3 client under an SWFClient (listing calls are not wrapped by it)."""
    return getattr(client, 'client', client)


def _list_runs(client, operation, domain, workflow_id):
    raw = _boto3(client)
    runs = []
    token = None
    for _ in range(_MAX_PAGES):
        request = {'domain': domain, 'startTimeFilter': {'oldestDate': _EPOCH},
                   'executionFilter': {'workflowId': workflow_id}}
        if token:
            request['nextPageToken'] = token
        response = getattr(raw, operation)(**request)
        runs.extend(info for info in response.get('executionInfos', ())
                    if info.get('execution', {}).get('workflowId') == workflow_id)
        token = response.get('nextPageToken')
        if not token:
            break
    return runs


def _start_key(info):
    started = info.get('startTimestamp')
    if isinstance(started, datetime.datetime):
        return started.timestamp()
    return started or 0


def latest_run_id(swf_client, domain, workflow_id):
    """The run id of the open run of ``workflow_id``, else of the one started last."""
    client = _client(swf_client)
    try:
        runs = _list_runs(client, 'list_open_workflow_executions', domain, workflow_id)
        if not runs:
            runs = _list_runs(client, 'list_closed_workflow_executions', domain, workflow_id)
    except Exception as exc:
        if error_code(exc) == 'UnknownResourceFault':
            raise UnknownExecution('SWF knows no domain %s' % domain) from exc
        raise
    if not runs:
        raise UnknownExecution('SWF knows no execution with the workflow id %r in the domain '
                               '%s (closed ones are kept for the retention period only)'
                               % (workflow_id, domain))
    return max(runs, key=_start_key)['execution']['runId']


def _describe_run(client, domain, workflow_id, run_id):
    try:
        return client.describe_workflow_execution(domain, workflow_id, run_id)
    except Exception as exc:
        if error_code(exc) == 'UnknownResourceFault':
            raise UnknownExecution('SWF knows no execution %s (run %s) in the domain %s'
                                   % (workflow_id, run_id, domain)) from exc
        raise


def history_events(swf_client, domain, workflow_id, run_id):
    """Every event of one run's history, oldest first, read page by page."""
    client = _client(swf_client)
    events, token = [], None
    for _ in range(_MAX_PAGES):
        response = client.get_workflow_execution_history(domain, workflow_id, run_id,
                                                         next_page_token=token)
        events.extend(response.get('events', ()))
        token = response.get('nextPageToken')
        if not token:
            return events
    raise RuntimeError('the history of %s/%s has more than %d pages' % (
        workflow_id, run_id, _MAX_PAGES))


def _close_event(client, domain, workflow_id, run_id):
    """The event that closed the run (the newest one of a closing type), or None."""
    token = None
    for _ in range(_MAX_PAGES):
        response = client.get_workflow_execution_history(
            domain, workflow_id, run_id, next_page_token=token, max_page_size=10,
            reverse_order=True)
        for event in response.get('events', ()):
            if event.get('eventType') in _CLOSE_EVENTS:
                return event
        token = response.get('nextPageToken')
        if not token:
            return None
    return None


def _attributes(event):
    return event.get(attributes_key(event['eventType'])) or {}


def _full_reason(attributes):
    """The whole reason of a failure (flowy keeps it in the details)."""
    return full_reason(attributes.get('reason'), attributes.get('details'))


def describe_execution(swf_client, domain, workflow_id, run_id=None, transport=None,
                       payload_store=None):
    """An :class:`ExecutionStatus` of the run ``run_id`` (None: the latest run).

    A run that continued as new is followed to the newest run of the chain.  Raises
    :class:`UnknownExecution` when SWF knows no such execution.
    """
    client = _client(swf_client)
    if run_id is None:
        run_id = latest_run_id(client, domain, workflow_id)
    runs = [run_id]
    for _ in range(_MAX_HOPS):
        described = _describe_run(client, domain, workflow_id, run_id)
        info = described.get('executionInfo') or {}
        status = info.get('executionStatus')
        close_status = info.get('closeStatus')
        kind = info.get('workflowType') or {}
        found = ExecutionStatus(
            workflow_id, run_id, status, close_status,
            workflow_type=(kind.get('name'), kind.get('version')) if kind else None,
            start_time=info.get('startTimestamp'), close_time=info.get('closeTimestamp'),
            runs=runs, transport=transport, payload_store=payload_store)
        if status != 'CLOSED':
            return found
        event = _close_event(client, domain, workflow_id, run_id)
        attributes = {} if event is None else _attributes(event)
        if close_status is None and event is not None:
            found.close_status = close_status = _CLOSE_EVENTS[event['eventType']]
        if close_status == 'COMPLETED':
            found.result_text = attributes.get('result')
        elif close_status == 'TIMED_OUT':
            found.reason = attributes.get('timeoutType')
        elif close_status in ('FAILED', 'TERMINATED', 'CANCELED'):
            found.reason = _full_reason(attributes)
            found.details = extra_details(attributes.get('details'))
            found.type_name = failure_type(attributes.get('details'))
        if close_status != 'CONTINUED_AS_NEW':
            return found
        next_run = attributes.get('newExecutionRunId')
        if not next_run:
            next_run = latest_run_id(client, domain, workflow_id)
        if next_run in runs:
            return found  # nothing newer to follow
        run_id = next_run
        runs.append(run_id)
    return found


def wait_for_result(swf_client, domain, workflow_id, run_id=None, timeout=None,
                    poll_interval=1.0, transport=None, payload_store=None):
    """Wait until the execution closes; return its result, or raise why it did not complete.

    A failed, terminated or canceled execution raises :class:`flowy.TaskError` with the
    reason SWF recorded; one that timed out raises :class:`flowy.TaskTimedout`.
    ``timeout``: the most seconds to wait (None: no limit), after which the built-in
    :class:`TimeoutError` is raised (the execution goes on).  ``poll_interval``: seconds
    between two look-ups.
    """
    if timeout is not None and not timeout >= 0:
        raise ValueError('timeout must be a number of seconds >= 0, or None; got %r'
                         % (timeout,))
    if not poll_interval > 0:
        raise ValueError('poll_interval must be a number of seconds > 0; got %r'
                         % (poll_interval,))
    client = _client(swf_client)
    deadline = None if timeout is None else time.monotonic() + timeout
    status = describe_execution(client, domain, workflow_id, run_id, transport,
                                payload_store)
    runs = status.runs
    while status.open:
        pause = poll_interval
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    'the workflow execution %s (run %s) in the domain %s is still open after '
                    '%g s' % (workflow_id, status.run_id, domain, timeout))
            pause = min(pause, left)
        time.sleep(pause)
        status = describe_execution(client, domain, workflow_id, status.run_id, transport,
                                    payload_store)
        runs = runs[:-1] + status.runs
    status.runs = runs
    return status.outcome()


def list_executions(swf_client, domain, closed=False, since=None, until=None,
                    workflow_type=None, version=None, tag=None, close_status=None,
                    workflow_id=None, limit=None, page_size=None):
    """The executions of ``domain`` (open ones, or with ``closed`` the closed ones), as
    SWF's ``executionInfos`` dicts, newest first, read page by page.

    ``since`` and ``until`` (datetimes) bound their start time (default: from the
    epoch to now); ``workflow_type`` (and ``version``), ``tag``, ``close_status`` (one
    of :data:`CLOSE_STATUSES`, closed executions only) and ``workflow_id`` keep the
    ones that match.  SWF takes one of these filters per request: the first given is
    sent, the others are applied here.  ``limit``: stop after that many.  Raises
    :class:`UnknownExecution` when SWF knows no such domain.
    """
    if close_status is not None and not closed:
        raise ValueError('only closed executions have a close status')
    if close_status is not None and close_status not in CLOSE_STATUSES:
        raise ValueError('unknown close status %r: one of %s'
                         % (close_status, ', '.join(CLOSE_STATUSES)))
    if version is not None and workflow_type is None:
        raise ValueError('a version filters a workflow type: give the type too')
    raw = _boto3(_client(swf_client))
    operation = ('list_closed_workflow_executions' if closed
                 else 'list_open_workflow_executions')
    window = {'oldestDate': since or _EPOCH}
    if until is not None:
        window['latestDate'] = until
    request = {'domain': domain, 'startTimeFilter': window}
    checks = []
    for name, value, sent, check in (
            ('executionFilter', workflow_id, {'workflowId': workflow_id},
             lambda info: info.get('execution', {}).get('workflowId') == workflow_id),
            ('typeFilter', workflow_type, dict({'name': workflow_type},
                                               **({'version': version} if version else {})),
             lambda info: _type_matches(info, workflow_type, version)),
            ('tagFilter', tag, {'tag': tag}, lambda info: tag in (info.get('tagList') or ())),
            ('closeStatusFilter', close_status, {'status': close_status},
             lambda info: info.get('closeStatus') == close_status)):
        if value is None:
            continue
        if not any(key.endswith('Filter') and key != 'startTimeFilter' for key in request):
            request[name] = sent
        checks.append(check)  # checked here too: moto does not apply every filter
    if page_size:
        request['maximumPageSize'] = page_size
    found = 0
    token = None
    for _ in range(_MAX_PAGES):
        if token:
            request['nextPageToken'] = token
        try:
            response = getattr(raw, operation)(**request)
        except Exception as exc:
            if error_code(exc) == 'UnknownResourceFault':
                raise UnknownExecution('SWF knows no domain %s' % domain) from exc
            raise
        for info in response.get('executionInfos', ()):
            if not all(check(info) for check in checks) or not _in_window(info, since, until):
                continue
            yield info
            found += 1
            if limit is not None and found >= limit:
                return
        token = response.get('nextPageToken')
        if not token:
            return


def _type_matches(info, name, version):
    kind = info.get('workflowType') or {}
    return kind.get('name') == name and (version is None or kind.get('version') == version)


def _in_window(info, since, until):
    started = info.get('startTimestamp')
    if not isinstance(started, datetime.datetime):
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=datetime.timezone.utc)
    return ((since is None or started >= since) and (until is None or started <= until))
