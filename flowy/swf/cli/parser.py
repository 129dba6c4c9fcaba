"""The command line of ``flowy``: its arguments, their types, and the help texts."""

import argparse
import json
import math
import textwrap

from ... import __version__
from ..types import CHILD_POLICIES

__all__ = ['PROG', 'DEV_DOMAIN', 'build_parser', 'json_value']

PROG = 'flowy'
DEV_DOMAIN = 'flowy-dev'


def json_value(text):
    """A command-line argument as JSON, or the plain string when it is not valid JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _kwargs(text):
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError('not valid JSON: %s' % exc) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object such as \'{"n": 5}\'; got %s'
                                         % text)
    return value


def _duration(text):
    if text.strip().upper() == 'NONE':
        return 'NONE'
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('must be a whole number of seconds (or NONE); got %r'
                                         % text) from None


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < math.inf:
        raise argparse.ArgumentTypeError('must be a number of seconds greater than 0; got %r'
                                         % text)
    return value


# -- the parser ------------------------------------------------------------------------------

_DESCRIPTION = """\
Run flowy workflows on Amazon SWF: start executions, look at them, and run the decider
and activity workers that carry them out.

The AWS credentials, region and endpoint come from the usual AWS configuration
(environment variables, ~/.aws); --endpoint-url and --region override them.  To try
flowy without AWS, point it at a local moto server:
AWS_ENDPOINT_URL_SWF=http://127.0.0.1:5000 (with any credentials)."""

_EPILOG = """\
examples:
  flowy run myproject.workflows SumSquares 1 10        try a workflow in one process
  flowy decider my-domain decisions myproject.workflows
  flowy activities my-domain work myproject.activities
  flowy start my-domain SumSquares 1 10 --task-list decisions
  flowy status my-domain 3f2a...-workflow-id
  flowy signal my-domain 3f2a...-workflow-id approve '{"by": "ann"}'
  flowy cancel my-domain 3f2a...-workflow-id
  flowy list my-domain --closed --since 1d --status FAILED
  flowy history my-domain 3f2a...-workflow-id
  flowy tasks my-domain 3f2a...-workflow-id --format csv
  flowy profile my-domain 3f2a...-workflow-id
  flowy restart my-domain 3f2a...-workflow-id

Run 'flowy COMMAND --help' for the options of each command.  'flowy local --help'
describes the commands for local run stores (flowy local list, show, resume, ...)."""

_START_EPILOG = """\
Each ARG is read as JSON when it is valid JSON (10, 1.5, true, null, "text",
[1, 2], {"a": 1}) and taken as a plain string otherwise (so hello is "hello").
Keyword arguments go in one JSON object with --kwargs.  Put -- before arguments that
start with a dash: flowy start D N 1 -- -text.

Options left out take the defaults registered with the workflow type.

examples:
  flowy start my-domain SumSquares 1 10 --task-list decisions
      SumSquares(...)(10); prints the workflow id and the run id
  flowy start my-domain Report 2 '["eu", "us"]' --kwargs '{"month": "2024-05"}'
  flowy start my-domain Nightly 1 --workflow-id nightly-2024-05-01 \\
      --workflow-duration 7200 --task-duration 60 --tag nightly --tag reports
  flowy start my-domain SumSquares 1 10 --wait --timeout 600
      also waits for the result and prints it as JSON"""

_WORKER_EPILOG = """\
MODULE is a module or package name (myproject.workflows) or a path to a .py file;
packages are scanned with all their submodules.  The current directory is on the
import path.  The worker registers the types it runs on SWF first (--no-register to
skip that), then polls TASK_LIST until it gets SIGTERM or SIGINT (Ctrl-C): the task in
hand is finished first, then it exits with status 0.  A second Ctrl-C stops at once.

examples:
  flowy %(command)s my-domain %(list)s myproject.%(module)s
  flowy %(command)s my-domain %(list)s myproject.%(module)s --identity %(command)s-1 -v"""

_DECIDER_EXTRA = """
  flowy decider my-domain decisions myproject.workflows --driver replay"""

_RUN_EPILOG = """\
Development mode: in this one process, flowy registers DOMAIN (default %s) if it
is missing, registers the types found in MODULE, starts a decider and an activity
worker on a private task list (flowy-<uuid>: every activity and child workflow is
sent there, whatever its configured task list), starts the workflow NAME VERSION
with the ARGs, waits for its result, prints it as JSON and stops the workers.
Exit status: 0 when the workflow completed, 1 (with the reason on stderr) when it
failed or the wait timed out.  ARGs are read as by 'flowy start'.

examples:
  flowy run myproject.workflows SumSquares 1 10
  flowy run myproject/workflows.py Report 2 --kwargs '{"month": "2024-05"}' --timeout 300
  AWS_ENDPOINT_URL_SWF=http://127.0.0.1:5000 flowy run myproject.workflows SumSquares 1 5""" \
    % DEV_DOMAIN

_STATUS_EPILOG = """\
Prints the workflow type, the status (OPEN, or CLOSED with COMPLETED, FAILED,
CANCELED, TERMINATED or TIMED_OUT), the start and close times and the result or the
reason of the failure.  Without --run-id, the latest run of WORKFLOW_ID is shown; a
run that continued as new is followed to the newest run.

examples:
  flowy status my-domain nightly-2024-05-01
  flowy status my-domain nightly-2024-05-01 --run-id 22Kq...= --json"""


def _wrap(text):
    return textwrap.fill(text, 79)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)


def _common_options(parser):
    group = parser.add_argument_group('connection and output')
    group.add_argument('--endpoint-url', metavar='URL', default=argparse.SUPPRESS,
                       help='the SWF endpoint (default: AWS_ENDPOINT_URL_SWF, '
                            'AWS_ENDPOINT_URL, or AWS itself)')
    group.add_argument('--region', metavar='REGION', default=argparse.SUPPRESS,
                       help='the AWS region (default: AWS_DEFAULT_REGION or ~/.aws/config)')
    group.add_argument('-v', '--verbose', action='count', default=argparse.SUPPRESS,
                       help='log more (repeat for even more); show tracebacks of errors')


def _payload_option(parser):
    parser.add_argument('--payload-bucket', metavar='BUCKET',
                        help='an S3 bucket for values larger than SWF allows (32,768 '
                             'characters); every process of a domain must use the same')


def _input_options(parser):
    parser.add_argument('args', nargs='*', metavar='ARG', type=json_value,
                        help='a positional argument of the workflow (JSON, or a string)')
    parser.add_argument('--kwargs', type=_kwargs, default={}, metavar='JSON',
                        help="the keyword arguments of the workflow, as a JSON object "
                             "('{\"n\": 5}')")


def _worker_options(parser, command, task_list_help):
    parser.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    parser.add_argument('task_list', metavar='TASK_LIST', help=task_list_help)
    parser.add_argument('modules', nargs='+', metavar='MODULE',
                        help='modules or packages to scan for %s' % command)
    parser.add_argument('--identity', help='the name of this worker in the history '
                                           '(default: <host>-<pid>)')
    parser.add_argument('--no-register', dest='register', action='store_false',
                        help='do not register the types on SWF (they must exist already)')
    _payload_option(parser)


def build_parser():
    """The argparse parser of the ``flowy`` command."""
    parser = argparse.ArgumentParser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=_Formatter)
    parser.add_argument('--version', action='version', version='%(prog)s ' + __version__)
    _common_options(parser)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', title='commands')
    for add in (_start_command, _decider_command, _activities_command, _run_command,
                _status_command):
        add(commands)
    from .control import add_commands

    add_commands(commands, _Formatter, _common_options, json_value, _wrap)
    from .trace import add_command as add_trace

    add_trace(commands, _Formatter, _common_options, _wrap)
    from .ops import add_commands as add_operations

    add_operations(commands, _Formatter, _common_options, _wrap)
    return parser


def _start_command(commands):
    start = commands.add_parser(
        'start', help='start a workflow execution', formatter_class=_Formatter,
        description=_wrap('Start an execution of the workflow type NAME VERSION in DOMAIN and '
                          'print its workflow id and run id.'), epilog=_START_EPILOG)
    start.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    start.add_argument('name', metavar='NAME', help='the name of the workflow type')
    start.add_argument('version', metavar='VERSION', help='the version of the workflow type')
    _input_options(start)
    start.add_argument('--task-list', help='the task list of its decision tasks (default: '
                                           "the type's)")
    start.add_argument('--task-duration', type=_duration, metavar='SECONDS',
                       help='how long one decision may take (or NONE)')
    start.add_argument('--workflow-duration', type=_duration, metavar='SECONDS',
                       help='how long the whole execution may run (at most a year)')
    start.add_argument('--workflow-id', metavar='ID',
                       help='the workflow id (default: a new UUID); only one execution '
                            'with an id may be open at a time')
    start.add_argument('--tag', dest='tags', action='append', metavar='TAG',
                       help='a tag for the execution (repeat for more, at most 5)')
    start.add_argument('--child-policy', type=str.upper, choices=CHILD_POLICIES,
                       help='what happens to its child workflows when it is terminated')
    start.add_argument('--priority', type=int, help='the priority of its decision tasks')
    start.add_argument('--lambda-role', metavar='ARN', help='the IAM role for Lambda tasks')
    start.add_argument('--wait', action='store_true',
                       help='wait for the result and print it as JSON (exit status 1 if '
                            'the workflow fails)')
    start.add_argument('--timeout', type=_seconds, metavar='SECONDS',
                       help='with --wait: wait at most this long (default: no limit)')
    _payload_option(start)
    _common_options(start)


def _decider_command(commands):
    decider = commands.add_parser(
        'decider', help='run a decider (workflow worker)', formatter_class=_Formatter,
        description=_wrap('Run the workflows found in the MODULEs: poll TASK_LIST of DOMAIN '
                          'for decision tasks until stopped.'),
        epilog=_WORKER_EPILOG % {'command': 'decider', 'list': 'decisions',
                                 'module': 'workflows'} + _DECIDER_EXTRA)
    _worker_options(decider, 'workflows',
                    "the task list of the decision tasks to poll: the workflows' "
                    'default_task_list, or the one given when starting them')
    decider.add_argument('--driver', choices=('cached', 'replay'), default='cached',
                         help='cached: keep workflow bodies alive between decisions '
                              '(default); replay: replay each body on every decision')
    _common_options(decider)


def _activities_command(commands):
    activities = commands.add_parser(
        'activities', help='run an activity worker', formatter_class=_Formatter,
        description=_wrap('Run the activities found in the MODULEs: poll TASK_LIST of DOMAIN '
                          'for activity tasks until stopped.'),
        epilog=_WORKER_EPILOG % {'command': 'activities', 'list': 'work',
                                 'module': 'activities'})
    _worker_options(activities, 'activities',
                    "the task list of the activity tasks to poll: the activities' "
                    'default_task_list, or one a workflow gives in conf_activity')
    _common_options(activities)


def _run_command(commands):
    run = commands.add_parser(
        'run', help='run a workflow in this process (development mode)',
        formatter_class=_Formatter,
        description=_wrap('Run one execution of the workflow NAME VERSION found in MODULE, '
                          'with a decider and an activity worker in this process, and print '
                          'its result.'), epilog=_RUN_EPILOG)
    run.add_argument('module', metavar='MODULE',
                     help='the module or package with the workflow and its activities')
    run.add_argument('name', metavar='NAME', help='the name of the workflow type')
    run.add_argument('version', metavar='VERSION', help='the version of the workflow type')
    _input_options(run)
    run.add_argument('--domain', default=DEV_DOMAIN,
                     help='the SWF domain (default: %(default)s; registered if missing)')
    run.add_argument('--timeout', type=_seconds, metavar='SECONDS',
                     help='give up after this long (default: no limit)')
    run.add_argument('--driver', choices=('cached', 'replay'), default='cached',
                     help='the decider driver (default: %(default)s)')
    _payload_option(run)
    _common_options(run)


def _status_command(commands):
    status = commands.add_parser(
        'status', help='show the status and result of an execution',
        formatter_class=_Formatter,
        description=_wrap('Show the status of the workflow execution WORKFLOW_ID in DOMAIN and '
                          'its result or failure reason.'), epilog=_STATUS_EPILOG)
    status.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    status.add_argument('workflow_id', metavar='WORKFLOW_ID', help='the workflow id')
    status.add_argument('--run-id', help='a run of the workflow id (default: the latest)')
    status.add_argument('--json', action='store_true', help='print one JSON object')
    _payload_option(status)
    _common_options(status)
