"""``flowy local``: look at the runs recorded in a local run store.

``flowy local list`` lists the runs of a store, ``flowy local show RUN_ID`` shows one
run with its calls.  Inputs, results and call data are printed as stored (encoded by
the workflow's transport).  Exit status: 0 on success, 1 when the store cannot be read
or has no such run, 2 for a usage error.
"""

import argparse
import json
import os
import sys
import time

from .store import SQLiteStore, StoreError
from .store_records import STATES

__all__ = ['main', 'build_parser']

PROG = 'flowy local'

_EPILOG = """\
examples:
  flowy local list --store runs.db
  flowy local list --store runs.db --state failed --all --json
  flowy local show nightly-2024-06-01 --store runs.db -v"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Look at the runs recorded in a local run store (the '
                               'store= file of a LocalWorkflow).',
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    listing = commands.add_parser('list', help='list the runs of a store, oldest first',
                                  description='List the runs of a store, oldest first: '
                                              'id, workflow, state, created, updated.')
    listing.add_argument('--store', required=True, help='the run store file')
    listing.add_argument('--state', choices=STATES, help='only runs in this state')
    listing.add_argument('--all', action='store_true',
                         help='include child runs (only top-level runs by default)')
    listing.add_argument('--json', action='store_true', help='one JSON object per line')
    show = commands.add_parser('show', help='show one run and its calls',
                               description='Show one run (workflow, state, input, result '
                                           'or failure, related runs) and its calls.')
    show.add_argument('run_id', metavar='RUN_ID')
    show.add_argument('--store', required=True, help='the run store file')
    show.add_argument('--json', action='store_true', help='print one JSON object')
    show.add_argument('-v', '--verbose', action='store_true',
                      help='also print the recorded tracebacks of failures')
    return parser


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
        store = _open(args.store)
        try:
            return _COMMANDS[args.command](store, args)
        finally:
            store.close()
    except StoreError as exc:
        print('%s %s' % (prefix, exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('%s interrupted' % prefix, file=sys.stderr)
        return 130


def _open(path):
    # SQLiteStore creates a missing file: looking at a store must not.
    if not os.path.exists(path):
        raise StoreError('there is no run store %s' % path)
    return SQLiteStore(path)


def _time(when):
    if when is None:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(when))


def _list(store, args):
    runs = store.runs(state=args.state, children=args.all)
    if args.json:
        for run in runs:
            print(json.dumps({'id': run.id, 'workflow': run.workflow, 'state': run.state,
                              'parent': run.parent, 'created': run.created,
                              'updated': run.updated}))
        return 0
    rows = [('ID', 'WORKFLOW', 'STATE', 'CREATED (UTC)', 'UPDATED (UTC)')]
    rows += [(run.id, run.workflow, run.state, _time(run.created), _time(run.updated))
             for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = zip(row, widths, strict=True)
        print('  '.join(cell.ljust(width) for cell, width in cells).rstrip())
    return 0


def _related(store, run):
    children = [child.id for child in store.runs(parent=run.id)]
    successor = store.successor(run.id)
    return children, None if successor is None else successor.id


def _show(store, args):
    run = store.run(args.run_id)
    calls = store.calls(run.id)
    children, successor = _related(store, run)
    if args.json:
        fields = {name: getattr(run, name) for name in (
            'id', 'workflow', 'state', 'input', 'result', 'reason', 'parent', 'parent_key',
            'predecessor', 'repair_of', 'created', 'updated')}
        fields.update(children=children, successor=successor, calls=[{
            'key': call.key, 'state': call.state, 'duration': call.duration,
            'input': call.input, 'result': call.data, 'reason': call.reason,
            **({'traceback': call.traceback} if args.verbose else {})} for call in calls])
        if args.verbose:
            fields['traceback'] = run.traceback
        print(json.dumps(fields))
        return 0
    lines = [('run', run.id), ('workflow', run.workflow), ('state', run.state),
             ('created', _time(run.created) + ' UTC'),
             ('updated', _time(run.updated) + ' UTC'), ('input', run.input)]
    if run.result is not None:
        lines.append(('result', run.result))
    if run.reason is not None:
        lines.append(('reason', run.reason))
    if run.parent is not None:
        lines.append(('parent', '%s (call %s)' % (run.parent, run.parent_key)))
    for name, value in (('children', ', '.join(children)), ('predecessor', run.predecessor),
                        ('successor', successor), ('repair of', run.repair_of)):
        if value:
            lines.append((name, value))
    for name, value in lines:
        print('%-12s %s' % (name + ':', value))
    if args.verbose and run.traceback:
        print(_indent(run.traceback))
    print('calls:' if calls else 'calls:       none')
    for call in calls:
        duration = '' if call.duration is None else '%.3fs' % call.duration
        outcome = call.data if call.reason is None else call.reason
        print('  %s  %s  %s  input=%s%s' % (call.key, call.state, duration or '-', call.input,
                                           '' if outcome is None else '  -> %s' % outcome))
        if args.verbose and call.traceback:
            print(_indent(call.traceback, '      '))
    return 0


def _indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.rstrip('\n').splitlines())


_COMMANDS = {'list': _list, 'show': _show}


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
