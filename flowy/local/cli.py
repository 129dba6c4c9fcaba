"""``flowy local``: look at the runs recorded in a local run store, and reach them.

``flowy local list`` lists the runs of a store, ``flowy local show RUN_ID`` shows one
run with its calls (timers, recorded values and signals received among them) and the
messages still queued for it, ``flowy local rerun RUN_ID KEY`` calls the activity
function of one recorded call again with its recorded input; ``flowy local history``,
``tasks`` and ``profile`` show a run's events, its calls with their attempts and times,
and their sums per activity type (``--format table|json|csv``, see
:mod:`flowy.cli_output`). Inputs, results and call data are printed as stored (encoded
by the workflow's transport). ``flowy local restart RUN_ID`` runs a stored run's input
again as a new run. ``flowy local resume
RUN_ID`` and ``flowy local repair RUN_ID`` run a stored run again with a
:class:`~flowy.LocalWorkflow` found in a module (``--workflow MODULE:NAME``) and print
its result as JSON. ``flowy local signal RUN_ID NAME [JSON]`` and ``flowy local cancel
RUN_ID`` send a signal or a cancellation to a run that another process drives, through
the store (:meth:`~flowy.local.store.SQLiteStore.send`); a run no process drives is
cancelled at once. Exit status: 0 on success, 1 when the store cannot be read or has
no such run, the run failed, or it has ended and takes no messages, 2 for a usage error
(a bad option, a workflow that cannot be found, a value that is not JSON), 130 after
Ctrl-C.
"""

import argparse
import json
import sys
import time

from ..cli_output import (
    CALL_COLUMNS,
    FORMATS,
    PROFILE_COLUMNS,
    Column,
    call_rows,
    emit,
    profile_rows,
)
from ..errors import FlowyError, TaskError, exception_text, typed_reason
from ..history import is_builtin
from ..trace_render import TraceCall
from .cli_actions import ACTIONS, CommandLineError, reading
from .store_records import INTERRUPTED, STATES, was_cancelled

__all__ = ['main', 'build_parser']

PROG = 'flowy local'

_EPILOG = """\
examples:
  flowy local list --store runs.db
  flowy local list --store runs.db --state failed --all --json
  flowy local show nightly-2024-06-01 --store runs.db -v
  flowy local show nightly-2024-06-01 --store runs.db --trace nightly
  flowy local resume nightly-2024-06-01 --store runs.db --workflow myproject.jobs:nightly
  flowy local repair nightly-2024-06-01 --store runs.db --workflow myproject.jobs:nightly
  flowy local signal nightly-2024-06-01 approve '{"by": "ann"}' --store runs.db
  flowy local cancel nightly-2024-06-01 --store runs.db --reason 'wrong input'
  flowy local tasks nightly-2024-06-01 --store runs.db --format csv
  flowy local profile nightly-2024-06-01 --store runs.db
  flowy local history nightly-2024-06-01 --store runs.db
  flowy local restart nightly-2024-06-01 --store runs.db --workflow myproject.jobs:nightly"""

_RERUN_EPILOG = """\
MODULE:NAME names a LocalWorkflow object: NAME is its name in MODULE, a module name
(myproject.jobs; the current directory is importable) or a path to a .py file.  The
workflow's own store (store=) is used; --store gives one to a workflow without a
store, and must name the same file as the workflow's store otherwise.  The result is
printed as JSON (values JSON cannot hold as their repr)."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='List, show, resume, repair, rerun, restart, signal and cancel '
                               'the runs\nof a local run store (the store= file of a '
                               'LocalWorkflow), and show their\nhistory, calls and profile.',
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    listing = commands.add_parser('list', help='list the runs of a store, oldest first',
                                  description='List the runs of a store, oldest first: '
                                              'id, workflow, state, created, updated.')
    listing.add_argument('--store', required=True, help='the run store file')
    listing.add_argument('--state', choices=STATES + ('cancelled',),
                         help='only runs in this state (cancelled: the failed runs that were '
                              'cancelled)')
    listing.add_argument('--all', action='store_true',
                         help='include child runs (only top-level runs by default)')
    listing.add_argument('--json', action='store_true', help='one JSON object per line')
    _format_option(listing)
    show = commands.add_parser('show', help='show one run and its calls',
                               description='Show one run (workflow, state, input, result '
                                           'or failure, related runs) and its calls.')
    show.add_argument('run_id', metavar='RUN_ID')
    show.add_argument('--store', required=True, help='the run store file')
    show.add_argument('--json', action='store_true', help='print one JSON object')
    show.add_argument('--format', choices=FORMATS, default='table',
                      help='table (default: the run, then its calls), json (as --json) or '
                           'csv (its calls)')
    show.add_argument('--trace', metavar='PATH',
                      help='also draw the run, its restarts and children as a trace: '
                      'PATH.dot, and PATH.svg when Graphviz is installed')
    show.add_argument('-v', '--verbose', action='store_true',
                      help='also print the recorded tracebacks of failures')
    for name, text in (('resume', 'resume a run that did not end (or give the result or '
                                  'error of one that did)'),
                       ('repair', 'run a failed or interrupted run again as a new run, '
                                  'reusing the calls that completed')):
        command = commands.add_parser(name, help=text, description=text[0].upper() + text[1:]
                                      + '; print the result as JSON.', epilog=_RERUN_EPILOG,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument('run_id', metavar='RUN_ID')
        command.add_argument('--workflow', required=True, metavar='MODULE:NAME',
                             help='the LocalWorkflow object that runs it')
        command.add_argument('--store', help="the run store file (default: the workflow's)")
        command.add_argument('-v', '--verbose', action='store_true',
                             help='if the run fails, also print the traceback of the task '
                                  'that failed it')
    rerun = commands.add_parser(
        'rerun', help="call one recorded activity call's function again, here",
        description="Call the activity function of one recorded call again in this process, "
                    "with the call's\nrecorded input; print its result as JSON.  Nothing is "
                    "recorded.", epilog=_RERUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rerun.add_argument('run_id', metavar='RUN_ID')
    rerun.add_argument('key', metavar='KEY', help='the call key, as flowy local show prints it')
    rerun.add_argument('--workflow', required=True, metavar='MODULE:NAME',
                       help="the LocalWorkflow object of the run's workflow")
    rerun.add_argument('--store', help="the run store file (default: the workflow's)")
    rerun.add_argument('-v', '--verbose', action='store_true',
                       help='if the call fails, also print its traceback')
    send = commands.add_parser(
        'signal', help='send a signal to a run (another process may drive it)',
        description='Send the signal NAME, carrying the value JSON (default null), to a run '
                    'of the store, or to\nthe run it restarted as.  The process driving it '
                    'receives it at its next decision;\na run that no process drives receives '
                    'it when it is resumed.')
    send.add_argument('run_id', metavar='RUN_ID')
    send.add_argument('name', metavar='NAME', help='the signal name (as in wait_signal)')
    send.add_argument('value', metavar='JSON', nargs='?', default='null',
                      help='the value, as JSON (default: null)')
    send.add_argument('--store', required=True, help='the run store file')
    cancel = commands.add_parser(
        'cancel', help='cancel a run',
        description='Cancel a run of the store: the process driving it cancels what the run '
                    'has running and\nends it (TaskCancelled).  A run no process drives '
                    '(interrupted, or its process died)\nis ended here at once, as failed, '
                    'with its child runs that have not ended.')
    cancel.add_argument('run_id', metavar='RUN_ID')
    cancel.add_argument('--reason', metavar='TEXT', help='why (recorded with the cancellation)')
    cancel.add_argument('--store', required=True, help='the run store file')
    for name, text, description in (
            ('history', "show a run's events, oldest first",
             'Show the events of a run, oldest first: the run created, each call scheduled '
             'and its\noutcome, timers, recorded values, signals received, and how the run '
             'ended.'),
            ('tasks', "show a run's activity calls with their attempts and times",
             'Show the activity and child workflow calls of a run (a call id such as '
             'square-2 for all its\nattempts): type, attempts, state, times, run time, '
             'result or error.'),
            ('profile', 'sum up the time spent per activity type',
             'Sum up the calls of a run per activity (or child workflow) type: calls, '
             'attempts,\nfailures, timeouts, total, mean and max run time.')):
        command = commands.add_parser(name, help=text, description=description,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument('run_id', metavar='RUN_ID')
        command.add_argument('--store', required=True, help='the run store file')
        _format_option(command)
    restart = commands.add_parser(
        'restart', help="run a stored run's input again as a new run",
        description="Run the workflow again with a stored run's input, as a new run of the "
                    "store; print its\nrun id, then its result as JSON.", epilog=_RERUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    restart.add_argument('run_id', metavar='RUN_ID')
    restart.add_argument('--workflow', required=True, metavar='MODULE:NAME',
                         help="the LocalWorkflow object of the run's workflow")
    restart.add_argument('--store', help="the run store file (default: the workflow's)")
    restart.add_argument('--id', dest='new_id', metavar='NEW_ID',
                         help='the id of the new run (default: a new one)')
    restart.add_argument('-v', '--verbose', action='store_true',
                         help='if the run fails, also print the traceback of the task '
                              'that failed it')
    return parser


def _format_option(parser):
    parser.add_argument('--format', choices=FORMATS, default='table',
                        help='table (default), json (an array of objects) or csv')


def main(argv=None):
    """Run ``flowy local`` with ``argv`` (the arguments after ``local``); return the exit
    status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    prefix = '%s %s: error:' % (PROG, args.command)
    try:
        return _COMMANDS[args.command](args)
    except CommandLineError as exc:
        print('%s %s' % (prefix, exc), file=sys.stderr)
        return 2
    except (FlowyError, ValueError) as exc:  # StoreError, TaskError, a refused run
        print('%s %s' % (prefix, exception_text(exc)), file=sys.stderr)
        traceback = getattr(exc, 'traceback', None) if isinstance(exc, TaskError) else None
        if getattr(args, 'verbose', False) and traceback:
            print(_indent(traceback.rstrip('\n')), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('%s interrupted' % prefix, file=sys.stderr)
        return 130


def _time(when):
    if when is None:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(when))


def _list(args):
    with reading(args) as store:
        if args.state == 'cancelled':
            runs = [run for run in store.runs(state='failed', children=args.all)
                    if was_cancelled(run)]
        else:
            runs = store.runs(state=args.state, children=args.all)
    if args.json:
        for run in runs:
            print(json.dumps({'id': run.id, 'workflow': run.workflow, 'state': run.state,
                              'cancelled': was_cancelled(run), 'parent': run.parent,
                              'created': run.created, 'updated': run.updated}))
        return 0
    rows = [{'id': run.id, 'workflow': run.workflow,
             'state': _state(run) if args.format == 'table' else run.state,
             'cancelled': was_cancelled(run), 'parent': run.parent, 'created': run.created,
             'updated': run.updated,
             'duration': None if run.state in _LIVE else run.updated - run.created}
            for run in runs]
    columns = [Column('id'), Column('workflow'), Column('state'),
               Column('created', 'CREATED (UTC)', 'time'),
               Column('updated', 'UPDATED (UTC)', 'time')]
    if args.format != 'table':
        columns[3:3] = [Column('cancelled'), Column('parent')]
        columns.append(Column('duration', kind='seconds'))
    emit(rows, columns, args.format)
    return 0


_LIVE = ('running', INTERRUPTED)


def _state(run):
    """The run's state, and whether a failed run was cancelled."""
    return run.state + ' (cancelled)' if was_cancelled(run) else run.state


def _related(store, run):
    children = [child.id for child in store.runs(parent=run.id)]
    successor = store.successor(run.id)
    return children, None if successor is None else successor.id


def _show(args):
    with reading(args) as store:
        run = store.run(args.run_id)
        calls = store.calls(run.id)
        children, successor = _related(store, run)
        inbox = store.inbox([run.id])
        if args.trace:
            _write_trace(store, run.id, args.trace)
    if args.format == 'csv':
        emit([_call_row(call, args.verbose) for call in calls], _show_columns(args.verbose),
             'csv')
        return 0
    if args.json or args.format == 'json':
        fields = {name: getattr(run, name) for name in (
            'id', 'workflow', 'state', 'input', 'result', 'reason', 'parent', 'parent_key',
            'predecessor', 'repair_of', 'created', 'updated')}
        fields.update(cancelled=was_cancelled(run), children=children, successor=successor,
                      calls=[{
                          'key': call.key, 'kind': _KINDS.get(call.dep, 'call'),
                          'dep': call.dep, 'state': call.state, 'duration': call.duration,
                          'input': call.input, 'result': call.data, 'reason': call.reason,
                          'type_name': call.type_name,
                          **({'due': call.started} if call.dep == _TIMER else {}),
                          **({'traceback': call.traceback} if args.verbose else {})}
                          for call in calls],
                      inbox=[{'kind': message.kind, 'name': message.name,
                              'data': message.data, 'sent': message.at}
                             for message in inbox])
        if args.verbose:
            fields['traceback'] = run.traceback
        print(json.dumps(fields))
        return 0
    lines = [('run', run.id), ('workflow', run.workflow), ('state', _state(run)),
             ('created', _time(run.created) + ' UTC'),
             ('updated', _time(run.updated) + ' UTC'), ('input', run.input)]
    if run.result is not None:
        lines.append(('result', run.result))
    if run.reason is not None:
        lines.append(('reason', run.reason))
    if run.parent is not None:
        lines.append(('parent', '%s (call %s)' % (run.parent, run.parent_key)))
    for name, value in (('children', ', '.join(children)), ('predecessor', run.predecessor),
                        ('successor', successor), ('repair of', run.repair_of),
                        ('inbox', ', '.join(map(_message, inbox)))):
        if value:
            lines.append((name, value))
    for name, value in lines:
        print('%-12s %s' % (name + ':', value))
    if args.verbose and run.traceback:
        print(_indent(run.traceback))
    print('calls:' if calls else 'calls:       none')
    for call in calls:
        print('  ' + _call_line(call))
        if args.verbose and call.traceback:
            print(_indent(call.traceback, '      '))
    return 0


def _show_columns(verbose):
    columns = [Column('key'), Column('kind'), Column('dep'), Column('state'),
               Column('duration', kind='seconds'), Column('input'), Column('result'),
               Column('reason'), Column('type_name')]
    return columns + ([Column('traceback')] if verbose else [])


def _call_row(call, verbose=False):
    row = {'key': call.key, 'kind': _KINDS.get(call.dep, 'call'), 'dep': call.dep,
           'state': call.state, 'duration': call.duration, 'input': call.input,
           'result': call.data, 'reason': call.reason, 'type_name': call.type_name}
    if verbose:
        row['traceback'] = call.traceback
    return row


def _trace_calls(store, run):
    """The task calls of stored ``run`` as :class:`TraceCall` objects (one per attempt)."""
    workflow_keys = {kid.parent_key for kid in store.runs(parent=run.id)}
    found = []
    for stored in store.calls(run.id):
        if stored.dep is None or is_builtin(stored.key) or stored.dep in _KINDS:
            continue
        kind = 'workflow' if stored.key in workflow_keys else 'activity'
        call = TraceCall(stored.key, stored.dep, kind, tuple(stored.depends_on or ()), None,
                         input=stored.input, scheduled=stored.started)
        call.started, call.finished, call.state = stored.started, stored.finished, stored.state
        if stored.state == 'completed':
            call.detail = stored.data
        else:
            call.detail = typed_reason(stored.reason or '', stored.type_name)
        found.append(call)
    return found


def _task_rows(args):
    with reading(args) as store:
        run = store.run(args.run_id)
        # the store records when a call was scheduled, not when a worker took it
        return call_rows(_trace_calls(store, run), queue_known=False)


_LOCAL_CALL_COLUMNS = [column for column in CALL_COLUMNS
                       if column.key not in ('started', 'queue_wait')]
_LOCAL_PROFILE_COLUMNS = [column for column in PROFILE_COLUMNS
                          if not column.key.endswith('queue_wait')]


def _tasks(args):
    emit(_task_rows(args), _LOCAL_CALL_COLUMNS, args.format,
         empty='no activity or workflow calls')
    return 0


def _profile(args):
    emit(profile_rows(_task_rows(args)), _LOCAL_PROFILE_COLUMNS, args.format,
         empty='no activity or workflow calls')
    return 0


_HISTORY_COLUMNS = [Column('id'), Column('time', 'TIME (UTC)', 'time'), Column('event'),
                    Column('call'), Column('name'), Column('detail', kind='text')]
_OUTCOMES = {'completed': 'completed', 'failed': 'failed', 'timedout': 'timed out',
             'cancelled': 'cancelled'}
_RUN_ENDS = {'finished': 'run finished', 'failed': 'run failed',
             'interrupted': 'run interrupted', 'restarted': 'run restarted'}


def history_rows(run, calls, successor=None):
    """The events of stored run ``run`` (a RunRecord) and its ``calls`` (CallRecords),
    oldest first: ``id`` (from 1), ``time`` (UNIX seconds), ``event``, ``call``,
    ``name`` and ``detail``."""
    events = [(run.created, 0, 'run created', None, run.workflow, run.input)]
    for call in calls:
        if call.dep == _SIGNAL:
            events.append((call.finished, 2, 'signal received', call.key, None, call.data))
            continue
        if call.dep == _TIMER:
            if call.state == 'running':
                events.append((call.started, 1, 'timer waiting', call.key, None,
                               'due %s UTC' % _time(call.started)))
            else:
                events.append((call.finished, 2, 'timer ' + ('fired' if call.state ==
                                                              'completed' else call.state),
                               call.key, None, '%ss' % call.input))
            continue
        if call.dep in _KINDS:  # a recorded value
            events.append((call.finished, 2, 'value recorded', call.key, call.dep, call.data))
            continue
        if call.started is not None:
            events.append((call.started, 1, 'scheduled', call.key, call.dep, call.input))
        if call.state in _OUTCOMES:
            detail = call.data if call.state == 'completed' else typed_reason(
                call.reason or '', call.type_name)
            events.append((call.finished, 2, _OUTCOMES[call.state], call.key, call.dep, detail))
    if run.state in _RUN_ENDS:
        end = _RUN_ENDS[run.state]
        if was_cancelled(run):
            end = 'run cancelled'
        detail = run.result if run.state == 'finished' else run.reason
        if run.state == 'restarted':
            detail = 'as %s' % successor if successor else None
        events.append((run.updated, 3, end, None, None, detail))
    ordered = sorted(enumerate(events), key=lambda pair: (
        pair[1][0] if pair[1][0] is not None else float('inf'), pair[1][1] == 3, pair[0]))
    return [{'id': number, 'time': event[0], 'event': event[2], 'call': event[3],
             'name': event[4], 'detail': event[5]}
            for number, (_, event) in enumerate(ordered, 1)]


def _history(args):
    with reading(args) as store:
        run = store.run(args.run_id)
        calls = store.calls(run.id)
        successor = store.successor(run.id)
    emit(history_rows(run, calls, None if successor is None else successor.id),
         _HISTORY_COLUMNS, args.format)
    return 0


def _write_trace(store, run_id, path):
    """Draw stored run ``run_id`` as the tracer draws a live one (see --trace)."""
    from ..trace_render import to_dot
    from .tracer import runs_from_store, write_trace

    runs = runs_from_store(store, run_id)
    for written in write_trace(lambda: to_dot(runs), path):
        print('trace written to %s' % written, file=sys.stderr)


_TIMER, _SIGNAL = '@sleep', '@signal'
_KINDS = {_TIMER: 'timer', _SIGNAL: 'signal', '@marker': 'marker', '@now': 'now'}


def _call_line(call):
    """One line of ``flowy local show`` for a call, a timer, a recorded value or a signal."""
    outcome = call.data if call.reason is None else call.reason
    if call.type_name:  # a task that raised: its exception's type, then its message
        outcome = typed_reason(call.reason or '', call.type_name)
    arrow = '' if outcome is None else '  -> %s' % outcome
    if call.dep == _TIMER:
        state = {'running': 'waiting', 'completed': 'fired'}.get(call.state, call.state)
        when = call.finished if call.finished is not None else call.started
        return '%s  timer %ss  %s%s%s' % (
            call.key, call.input, state,
            '' if when is None else ' %s %s UTC' % (
                'until' if call.finished is None else 'at', _time(when)),
            '' if call.reason is None else '  -> %s' % call.reason)
    if call.dep == _SIGNAL:
        return '%s  signal received %s UTC  -> %s' % (call.key, _time(call.finished),
                                                       call.data)
    if call.dep in _KINDS:  # a marker, or the time now() gave
        return '%s  %s  %s%s%s' % (call.key, _KINDS[call.dep], call.state,
                                   '' if call.input is None else '  input=%s' % call.input,
                                   arrow)
    duration = '' if call.duration is None else '%.3fs' % call.duration
    return '%s  %s  %s  input=%s%s' % (call.key, call.state, duration or '-', call.input,
                                       arrow)


def _message(message):
    if message.kind == 'signal':
        return 'signal %s (%s)' % (message.name, message.data)
    return 'cancel' + ('' if message.data is None else ' (%s)' % message.data)


def _indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.rstrip('\n').splitlines())


_COMMANDS = dict(ACTIONS, list=_list, show=_show, history=_history, tasks=_tasks,
                 profile=_profile)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
