"""``flowy list``, ``flowy history``, ``flowy tasks``, ``flowy profile`` and ``flowy restart``:
look at the executions of a domain, and start one again.

Their arguments (added to the parser by :func:`add_commands`) and what they do.  The
histories are read with :func:`flowy.swf.status.history_events` and turned into calls
by :func:`flowy.swf.trace.trace_events` (which reads them as the decider does);
:mod:`flowy.cli_output` prints the rows as a table, JSON or CSV.  An unknown domain or
execution is an error with exit status 1.
"""

import argparse
import datetime
import json
import re
import sys
import uuid

from ...cli_output import (
    CALL_COLUMNS,
    FORMATS,
    PROFILE_COLUMNS,
    Column,
    call_rows,
    emit,
    profile_rows,
)
from ...errors import typed_reason
from ..client import error_code
from ..events import attributes_key
from ..failures import failure_type, full_reason
from ..status import (
    CLOSE_STATUSES,
    UnknownExecution,
    history_events,
    latest_run_id,
    list_executions,
)
from ..trace import trace_events
from .context import payload_store, swf_client
from .errors import CommandError

__all__ = ['add_commands', 'COMMANDS', 'parse_when']

_RELATIVE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$', re.IGNORECASE)
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


def parse_when(text, now=None):
    """A time of the command line: ISO 8601 (``2024-05-01``, ``2024-05-01T10:30``,
    UTC unless it says otherwise) or a time ago (``90s``, ``30m``, ``2h``, ``3d``,
    ``1w``); a UTC datetime."""
    found = _RELATIVE.match(text)
    if found:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return now - datetime.timedelta(seconds=float(found.group(1))
                                        * _UNITS[found.group(2).lower()])
    try:
        value = datetime.datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            'must be an ISO date or time (2024-05-01, 2024-05-01T10:30) or a time ago '
            '(30m, 2h, 3d); got %r' % text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


# -- the parser ------------------------------------------------------------------------------

_LIST_EPILOG = """\
Lists the executions that started in the time window (default: all that SWF keeps),
newest first: workflow id, run id, type, version, status (OPEN, or how it closed),
start and close time, and duration.  SWF filters by one of --workflow-id, --type,
--tag and --status; the others are applied to what it sends.  --status implies
--closed.  Times are UTC.

examples:
  flowy list my-domain
  flowy list my-domain --closed --since 2d --status FAILED
  flowy list my-domain --type SumSquares --version 1 --tag nightly --format csv
  flowy list my-domain --closed --since 2024-05-01 --until 2024-05-02T12:00 --format json"""

_HISTORY_EPILOG = """\
One line per event: its id, time (UTC), type, the call it is about (an activity id, a
timer id, a child workflow id, a signal or marker name), the activity or workflow type,
and what it says (an input, a result, a reason; clipped in the table).  --format json
prints the events as SWF gives them.  Without --run-id, the latest run is shown.

examples:
  flowy history my-domain order-17
  flowy history my-domain order-17 --run-id 22Kq...= --format json"""

_TASKS_EPILOG = """\
One line per activity or child workflow call of the run (the call id, such as square-2,
for all its attempts): its type, number of attempts, state, when it was scheduled,
started and closed, the time it waited in the task list (scheduled -> started) and ran
(started -> closed), summed over its attempts, and its result or error.  Without
--run-id, the latest run is shown.

examples:
  flowy tasks my-domain order-17
  flowy tasks my-domain order-17 --format csv > tasks.csv"""

_PROFILE_EPILOG = """\
One line per activity (or child workflow) type of the run, the busiest first: calls,
attempts, completed calls, failed, timed-out, cancelled and running attempts, and the
total, mean and max run time (started -> closed) and queue wait (scheduled ->
started) of its attempts.  Without --run-id, the latest run is profiled.

examples:
  flowy profile my-domain order-17
  flowy profile my-domain order-17 --format json"""

_RESTART_EPILOG = """\
Starts the workflow type of the run (--run-id, default: the latest run of WORKFLOW_ID)
again with the same input, task list, timeouts, child policy, priority, Lambda role
and tags, and prints the new workflow id and run id.  The new execution gets a new
workflow id (a UUID, or --workflow-id); --same-id reuses WORKFLOW_ID, which needs its
run to be closed.  The old run is left as it is: terminate it first to replace it.

examples:
  flowy restart my-domain order-17
  flowy restart my-domain order-17 --same-id
  flowy restart my-domain order-17 --run-id 22Kq...= --workflow-id order-17-again"""


def add_commands(commands, formatter, common_options, wrap):
    """Add the five commands to ``commands`` (the parser's subparsers)."""
    listing = commands.add_parser(
        'list', help='list the open or closed executions of a domain',
        formatter_class=formatter,
        description=wrap('List the open (or, with --closed, the closed) workflow executions '
                         'of DOMAIN.'), epilog=_LIST_EPILOG)
    listing.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    listing.add_argument('--closed', action='store_true',
                         help='list closed executions (default: open ones)')
    listing.add_argument('--type', dest='workflow_type', metavar='NAME',
                         help='only executions of this workflow type')
    listing.add_argument('--version', metavar='VERSION',
                         help='with --type: only this version of it')
    listing.add_argument('--tag', metavar='TAG', help='only executions with this tag')
    listing.add_argument('--status', type=str.upper, choices=CLOSE_STATUSES,
                         metavar='STATUS',
                         help='only closed executions that closed so: %s'
                              % ', '.join(CLOSE_STATUSES))
    listing.add_argument('--workflow-id', metavar='ID', help='only runs of this workflow id')
    listing.add_argument('--since', type=parse_when, metavar='WHEN',
                         help='only executions started at or after WHEN (ISO date or time, '
                              'UTC; or a time ago: 30m, 2h, 3d)')
    listing.add_argument('--until', type=parse_when, metavar='WHEN',
                         help='only executions started at or before WHEN')
    listing.add_argument('--limit', type=_positive, metavar='N',
                         help='list at most N executions')
    _format_option(listing)
    common_options(listing)

    for name, text, description, epilog in (
            ('history', 'show the events of an execution',
             'Show the history of the workflow execution WORKFLOW_ID in DOMAIN, one event a '
             'line.', _HISTORY_EPILOG),
            ('tasks', 'show the activity calls of an execution',
             'Show the activity and child workflow calls of the workflow execution '
             'WORKFLOW_ID in DOMAIN, with their attempts and times.', _TASKS_EPILOG),
            ('profile', 'sum up the time spent per activity type',
             'Sum up the calls of the workflow execution WORKFLOW_ID in DOMAIN per activity '
             'type: counts, failures, run times and queue waits.', _PROFILE_EPILOG)):
        command = commands.add_parser(name, help=text, formatter_class=formatter,
                                      description=wrap(description), epilog=epilog)
        _execution_arguments(command)
        _format_option(command)
        command.add_argument('--payload-bucket', metavar='BUCKET',
                             help='the S3 bucket of values larger than SWF allows (the one '
                                  'the workers use)')
        common_options(command)

    restart = commands.add_parser(
        'restart', help='start an execution again with the same input',
        formatter_class=formatter,
        description=wrap('Start the workflow of the execution WORKFLOW_ID in DOMAIN again, '
                         'with the same input and options; print the new ids.'),
        epilog=_RESTART_EPILOG)
    _execution_arguments(restart)
    ids = restart.add_mutually_exclusive_group()
    ids.add_argument('--same-id', action='store_true',
                     help='reuse WORKFLOW_ID (its run must be closed)')
    ids.add_argument('--workflow-id', dest='new_workflow_id', metavar='ID',
                     help='the new workflow id (default: a new UUID)')
    common_options(restart)


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('must be a whole number above 0; got %r' % text)
    return value


def _format_option(parser):
    parser.add_argument('--format', choices=FORMATS, default='table',
                        help='table (default), json (an array of objects) or csv')


def _execution_arguments(parser):
    parser.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    parser.add_argument('workflow_id', metavar='WORKFLOW_ID', help='the workflow id')
    parser.add_argument('--run-id', help='a run of the workflow id (default: the latest)')


# -- list ------------------------------------------------------------------------------------

_LIST_COLUMNS = [
    Column('workflow_id'), Column('run_id'), Column('type'), Column('version'),
    Column('status'), Column('started', kind='time'), Column('closed', kind='time'),
    Column('duration', kind='seconds'),
]


def list_command(args):
    if args.version and not args.workflow_type:
        raise CommandError('--version needs --type')
    closed = args.closed or args.status is not None
    infos = list_executions(
        swf_client(args), args.domain, closed=closed, since=args.since, until=args.until,
        workflow_type=args.workflow_type, version=args.version, tag=args.tag,
        close_status=args.status, workflow_id=args.workflow_id, limit=args.limit)
    rows = [_execution_row(info) for info in infos]
    emit(rows, _LIST_COLUMNS + ([Column('tags')] if args.format != 'table' else []),
         args.format, empty='no %s executions' % ('closed' if closed else 'open'))
    return 0


def _execution_row(info):
    execution = info.get('execution') or {}
    kind = info.get('workflowType') or {}
    started, closed = info.get('startTimestamp'), info.get('closeTimestamp')
    duration = None
    if isinstance(started, datetime.datetime) and isinstance(closed, datetime.datetime):
        duration = (closed - started).total_seconds()
    return {'workflow_id': execution.get('workflowId'), 'run_id': execution.get('runId'),
            'type': kind.get('name'), 'version': kind.get('version'),
            'status': info.get('closeStatus') or info.get('executionStatus'),
            'started': started, 'closed': closed, 'duration': duration,
            'tags': ' '.join(info.get('tagList') or ())}


# -- history, tasks, profile -----------------------------------------------------------------

def _events(args, client=None):
    """``(run id, events)`` of the run the command line names."""
    client = client or swf_client(args)
    run_id = args.run_id or latest_run_id(client, args.domain, args.workflow_id)
    try:
        return run_id, history_events(client, args.domain, args.workflow_id, run_id)
    except Exception as exc:
        if error_code(exc) == 'UnknownResourceFault':
            raise UnknownExecution('SWF knows no execution %s (run %s) in the domain %s'
                                   % (args.workflow_id, run_id, args.domain)) from exc
        raise


_HISTORY_COLUMNS = [
    Column('id'), Column('time', kind='time'), Column('event'), Column('call'),
    Column('name'), Column('detail', kind='text'),
]

# events about a call that name it through the event that scheduled or initiated it
_REFERS = ('scheduledEventId', 'initiatedEventId', 'startedEventId')


def history_rows(events):
    """One row per event: ``id``, ``time``, ``event`` (its type), ``call`` (an activity
    id, timer id, child workflow id, signal or marker name), ``name`` (an activity or
    workflow type) and ``detail`` (an input, result, reason or cause)."""
    rows, calls = [], {}
    for event in events:
        kind = event.get('eventType', '')
        attributes = event.get(attributes_key(kind)) or {}
        call = (attributes.get('activityId') or attributes.get('timerId')
                or attributes.get('signalName') or attributes.get('markerName'))
        if call is None and ('ChildWorkflow' in kind or kind.startswith('StartChild')):
            call = (attributes.get('workflowExecution') or {}).get('workflowId') \
                or attributes.get('workflowId')
        if call is None:
            for field in _REFERS:
                if field in attributes and attributes[field] in calls:
                    call = calls[attributes[field]][0]
                    break
        name = ((attributes.get('activityType') or attributes.get('workflowType') or {})
                .get('name'))
        if name is None and call is not None:
            for field in _REFERS:
                if attributes.get(field) in calls:
                    name = calls[attributes[field]][1]
                    break
        if call is not None:
            calls[event.get('eventId')] = (call, name)
        rows.append({'id': event.get('eventId'), 'time': event.get('eventTimestamp'),
                     'event': kind, 'call': call, 'name': name,
                     'detail': _detail(kind, attributes)})
    return rows


def _detail(kind, attributes):
    if 'reason' in attributes or ('details' in attributes and kind.endswith(
            ('Failed', 'Terminated', 'Canceled'))):
        reason = full_reason(attributes.get('reason'), attributes.get('details'))
        if reason:
            return reason
    for field in ('cause', 'timeoutType', 'result', 'input', 'details',
                  'startToFireTimeout'):
        value = attributes.get(field)
        if value not in (None, ''):
            return '%s=%s' % (field, value) if field in ('cause', 'timeoutType') else value
    return None


def history(args):
    _, events = _events(args)
    if args.format == 'json':
        print(json.dumps(events, indent=2, ensure_ascii=False, default=_json_default))
        return 0
    emit(history_rows(events), _HISTORY_COLUMNS, args.format)
    return 0


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _calls(args):
    run_id, events = _events(args)
    run, _ = trace_events(events, args.workflow_id, run_id,
                          payload_store=payload_store(args))
    types = _failure_types(events)
    for call in run.tasks.values():
        if call.state == 'failed' and call.key in types:
            call.detail = typed_reason(call.detail or '', types[call.key])
    return call_rows(run.tasks.values())


def _failure_types(events):
    """``{activity id: the name of the exception's type}`` of the activities that failed
    and said so (flowy's activity worker does, in the details)."""
    scheduled, found = {}, {}
    for event in events:
        kind = event.get('eventType')
        attributes = event.get(attributes_key(kind or '')) or {}
        if kind == 'ActivityTaskScheduled':
            scheduled[event.get('eventId')] = attributes.get('activityId')
        elif kind == 'ActivityTaskFailed':
            key = scheduled.get(attributes.get('scheduledEventId'))
            name = failure_type(attributes.get('details'))
            if key and name:
                found[key] = name
    return found


def tasks(args):
    emit(_calls(args), CALL_COLUMNS, args.format, empty='no activity or workflow calls')
    return 0


def profile(args):
    emit(profile_rows(_calls(args)), PROFILE_COLUMNS, args.format,
         empty='no activity or workflow calls')
    return 0


# -- restart ---------------------------------------------------------------------------------

def restart(args):
    client = swf_client(args)
    run_id = args.run_id or latest_run_id(client, args.domain, args.workflow_id)
    try:
        described = client.describe_workflow_execution(args.domain, args.workflow_id, run_id)
        first = client.get_workflow_execution_history(args.domain, args.workflow_id, run_id,
                                                      max_page_size=1)
    except Exception as exc:
        if error_code(exc) == 'UnknownResourceFault':
            raise UnknownExecution('SWF knows no execution %s (run %s) in the domain %s'
                                   % (args.workflow_id, run_id, args.domain)) from exc
        raise
    info = described.get('executionInfo') or {}
    config = described.get('executionConfiguration') or {}
    events = first.get('events') or [{}]
    started = events[0].get('workflowExecutionStartedEventAttributes') or {}
    if args.same_id and info.get('executionStatus') == 'OPEN':
        raise CommandError('%s (run %s) is still open: terminate it first, or restart it '
                           'under a new workflow id (without --same-id)'
                           % (args.workflow_id, run_id))
    workflow_id = (args.workflow_id if args.same_id
                   else args.new_workflow_id or str(uuid.uuid4()))
    kind = info.get('workflowType') or {}
    try:
        response = client.start_workflow_execution(
            args.domain, workflow_id, kind.get('name'), kind.get('version'),
            input=started.get('input'),
            task_list=(config.get('taskList') or {}).get('name'),
            priority=config.get('taskPriority'),
            workflow_duration=config.get('executionStartToCloseTimeout'),
            decision_duration=config.get('taskStartToCloseTimeout'),
            tags=info.get('tagList') or None, child_policy=config.get('childPolicy'),
            lambda_role=config.get('lambdaRole'))
    except Exception as exc:
        if error_code(exc) == 'WorkflowExecutionAlreadyStartedFault':
            raise CommandError('cannot restart %s: an execution with the workflow id %r is '
                               'already open' % (args.workflow_id, workflow_id)) from exc
        raise
    print('workflow id: %s' % workflow_id)
    print('run id: %s' % response['runId'])
    print('restarted from: %s (run %s), %s version %s' % (
        args.workflow_id, run_id, kind.get('name'), kind.get('version')))
    sys.stdout.flush()
    return 0


COMMANDS = {'list': list_command, 'history': history, 'tasks': tasks, 'profile': profile,
            'restart': restart}
