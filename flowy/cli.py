"""The ``flowy`` command (also ``python -m flowy``): start workflows and run workers on SWF.

``flowy --help`` lists the subcommands and ``flowy COMMAND --help`` explains each one
with examples.  :func:`main` returns the exit status: 0 on success, 1 when something
failed (SWF refused a call, a workflow failed, a wait timed out), 2 for a usage error
(bad arguments, a module that cannot be found), 130 after Ctrl-C.
"""

import argparse
import importlib
import json
import logging
import math
import os
import sys
import textwrap
import threading
import time
import uuid

from .errors import FlowyError, TaskError

__all__ = ['main']

PROG = 'flowy'
DEV_DOMAIN = 'flowy-dev'

log = logging.getLogger('flowy.cli')


class UsageError(Exception):
    """The command line asks for something impossible (exit status 2)."""


class CommandError(Exception):
    """The command failed (exit status 1)."""


# -- argument types ------------------------------------------------------------------------


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

Run 'flowy COMMAND --help' for the options of each command."""

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
    from . import __version__

    parser.add_argument('--version', action='version', version='%(prog)s ' + __version__)
    _common_options(parser)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', title='commands')

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
    start.add_argument('--child-policy', type=str.upper,
                       choices=('TERMINATE', 'REQUEST_CANCEL', 'ABANDON'),
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
    start.set_defaults(func=_start)

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
    decider.set_defaults(func=_decider)

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
    activities.set_defaults(func=_activities)

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
    run.set_defaults(func=_run)

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
    status.set_defaults(func=_status)
    return parser


# -- helpers -------------------------------------------------------------------------------


def _verbosity(args):
    return getattr(args, 'verbose', 0) or 0


def _client(args, connect=True, **options):
    """An SWFClient for the command line's endpoint and region.

    ``connect``: make the boto3 client now, in this thread (boto3 does not make clients
    safely from several threads at once); otherwise on its first call.
    """
    from .swf.client import SWFClient

    kwargs = {}
    if getattr(args, 'endpoint_url', None):
        kwargs['endpoint_url'] = args.endpoint_url
    if getattr(args, 'region', None):
        kwargs['region_name'] = args.region
    client = SWFClient(kwargs=kwargs, **options)
    if connect:
        client.client  # noqa: B018 - a property that makes the boto3 client
    return client


def _payload_store(args):
    bucket = getattr(args, 'payload_bucket', None)
    if not bucket:
        return None
    import boto3

    from .swf.payload import S3PayloadStore

    region = getattr(args, 'region', None)
    client = boto3.client('s3', region_name=region) if region else boto3.client('s3')
    try:
        return S3PayloadStore(bucket, client=client)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _to_json(value):
    """``value`` as JSON for people: plain JSON when it can be, tagged JSON otherwise."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        from .serialization import dumps

        return dumps(value)


def _tagged(value):
    from .serialization import dumps

    return json.loads(dumps(value))


def _import_modules(names):
    """Import the modules named on the command line (or .py paths); the cwd is importable."""
    cwd = os.getcwd()
    if cwd not in sys.path and '' not in sys.path:
        sys.path.insert(0, cwd)
    modules = []
    for name in names:
        if name.endswith('.py'):
            if not os.path.isfile(name):
                raise UsageError('no such file: %s' % name)
            directory, filename = os.path.split(os.path.abspath(name))
            if directory not in sys.path:
                sys.path.insert(0, directory)
            name = filename[:-3]
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            missing = exc.name or ''
            if missing and (name == missing or name.startswith(missing + '.')):
                raise UsageError('cannot find the module %s: run flowy from the directory '
                                 'that holds it, or add that directory to PYTHONPATH'
                                 % name) from None
            raise CommandError('cannot import %s: %s' % (name, exc)) from exc
        except ImportError as exc:
            raise CommandError('cannot import %s: %s' % (name, exc)) from exc
    return modules


def _scan(worker, modules):
    for module in modules:
        worker.scan(module)
    return worker


def _input(args):
    return list(args.args), dict(args.kwargs)


def _starter(args, client, store, **options):
    from .swf.starter import SWFWorkflowStarter

    try:
        return SWFWorkflowStarter(args.domain, args.name, args.version, swf_client=client,
                                  payload_store=store, **options)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _encode_check(starter, positional, keywords):
    try:
        starter.encode_input(*positional, **keywords)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _print_result(result):
    print(_to_json(result))
    sys.stdout.flush()


# -- commands ------------------------------------------------------------------------------


def _start(args):
    from .swf.status import wait_for_result

    positional, keywords = _input(args)
    client = _client(args, connect=False)  # usage errors first
    starter = _starter(args, client, _payload_store(args), task_list=args.task_list,
                       task_duration=args.task_duration,
                       workflow_duration=args.workflow_duration, wid=args.workflow_id,
                       tags=args.tags, child_policy=args.child_policy,
                       priority=args.priority, lambda_role=args.lambda_role)
    _encode_check(starter, positional, keywords)
    workflow_id, run_id = starter.start(*positional, **keywords)
    print('workflow id: %s' % workflow_id)
    print('run id: %s' % run_id)
    sys.stdout.flush()
    if args.wait:
        result = wait_for_result(client, args.domain, workflow_id, run_id,
                                 timeout=args.timeout, payload_store=starter.payload_store)
        _print_result(result)
    return 0


def _worker(args, worker):
    modules = _import_modules(args.modules)
    _scan(worker, modules)
    if not worker.registry:
        raise UsageError('no %s found in %s: decorate them with an %s' % (
            'workflows' if worker.kind == 'workflow' else 'activities',
            ', '.join(args.modules), worker.config_class.__name__))
    client = _client(args, **worker.client_options)
    worker.run_forever(args.domain, args.task_list, swf_client=client, setup_log=False,
                       register_remote=args.register, identity=args.identity)
    return 0


def _decider(args):
    from .swf.decider import SWFWorkflowWorker

    return _worker(args, SWFWorkflowWorker(driver=args.driver,
                                           payload_store=_payload_store(args)))


def _activities(args):
    from .swf.activity import SWFActivityWorker

    return _worker(args, SWFActivityWorker(payload_store=_payload_store(args)))


def _register_domain(client, domain):
    from .swf.client import error_code

    try:
        client.register_domain(domain, retention_days=1,
                               description='flowy run: a development domain')
    except Exception as exc:
        if error_code(exc) != 'DomainAlreadyExistsFault':
            raise
        return False
    log.info('registered the domain %s', domain)
    return True


class _WorkerThread(threading.Thread):
    """Runs a worker's poll loop; keeps what stopped it, if it was an error."""

    def __init__(self, worker, domain, task_list, client, identity):
        super().__init__(name='flowy-run-%s' % worker.kind, daemon=True)
        self.worker = worker
        self.domain = domain
        self.task_list = task_list
        self.client = client
        self.identity = identity
        self.error = None

    def run(self):
        try:
            self.worker.run_forever(self.domain, self.task_list, swf_client=self.client,
                                    setup_log=False, register_remote=False,
                                    identity=self.identity)
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def _run(args):
    from .swf.activity import SWFActivityWorker
    from .swf.decider import SWFWorkflowWorker
    from .swf.status import wait_for_result

    positional, keywords = _input(args)
    modules = _import_modules([args.module])
    store = _payload_store(args)
    task_list = 'flowy-%s' % uuid.uuid4().hex
    decider = _scan(SWFWorkflowWorker(driver=args.driver, payload_store=store,
                                      task_list_override=task_list), modules)
    activities = _scan(SWFActivityWorker(payload_store=store), modules)
    workflow = decider.registry.get((args.name, args.version))
    if workflow is None:
        found = ', '.join('%s %s' % key for key in sorted(decider.registry)) or 'none'
        raise UsageError('no workflow %s version %s in %s (found: %s)'
                         % (args.name, args.version, args.module, found))
    config = workflow.swf_config
    workflow_duration = None
    if config.default_workflow_duration is None:
        workflow_duration = min(math.ceil(args.timeout) + 60 if args.timeout else 3600,
                                365 * 24 * 3600)
    task_duration = None if config.default_decision_duration is not None else 60
    child_policy = None if config.default_child_policy is not None else 'TERMINATE'
    client = _client(args, connect=False)
    starter = _starter(args, client, store, task_list=task_list, task_duration=task_duration,
                       workflow_duration=workflow_duration, child_policy=child_policy)
    _encode_check(starter, positional, keywords)
    client.client  # noqa: B018 - made in this thread, as the workers' clients below

    _register_domain(client, args.domain)
    decider.register_remote(client, args.domain)
    activities.register_remote(client, args.domain)
    identity = 'flowy-run-%d' % os.getpid()
    threads = [_WorkerThread(decider, args.domain, task_list, _client(args),
                             identity + '-decider'),
               _WorkerThread(activities, args.domain, task_list, _client(args),
                             identity + '-activities')]
    for thread in threads:
        thread.start()
    try:
        workflow_id, run_id = starter.start(*positional, **keywords)
        log.info('started %s %s: workflow id %s, run id %s', args.name, args.version,
                 workflow_id, run_id)
        try:
            result = _wait(wait_for_result, client, args, workflow_id, run_id, threads, store)
        except TaskError:
            raise  # the workflow failed: it is closed
        except BaseException:
            _terminate(client, args.domain, workflow_id, run_id)
            raise
        _print_result(result)
    finally:
        _stop_workers(threads)
    return 0


def _stop_workers(threads):
    """Stop the workers; wait for their polls to end (on SWF, up to a minute)."""
    for thread in threads:
        thread.worker.stop()
    log.info('stopping the workers: each finishes its task in hand or its poll (a long poll '
             'on SWF lasts up to 60 s; Ctrl-C to leave at once)')
    try:
        for thread in threads:
            thread.join(timeout=75)
    except KeyboardInterrupt:
        pass  # daemon threads: they end with this process


def _wait(wait_for_result, client, args, workflow_id, run_id, threads, store):
    """Wait for the result, checking now and then that both workers are still running."""
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        chunk = 2.0
        if deadline is not None:
            chunk = min(chunk, max(0.0, deadline - time.monotonic()))
        try:
            return wait_for_result(client, args.domain, workflow_id, run_id, timeout=chunk,
                                   poll_interval=0.2, payload_store=store)
        except TimeoutError:
            pass
        for thread in threads:
            if not thread.is_alive():
                reason = thread.error or 'it stopped'
                raise CommandError('the %s worker stopped before the workflow finished: %s'
                                   % (thread.worker.kind, reason))
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandError('the workflow %s %s did not finish within %g s (workflow id '
                               '%s); it was terminated' % (args.name, args.version,
                                                          args.timeout, workflow_id))


def _terminate(client, domain, workflow_id, run_id):
    try:
        client.terminate_workflow_execution(domain, workflow_id, run_id,
                                            reason='flowy run stopped before it finished')
    except Exception as exc:  # best effort: the execution times out anyway
        log.warning('could not terminate the workflow execution %s: %s', workflow_id, exc)


def _status(args):
    from .swf.status import describe_execution

    client = _client(args)
    status = describe_execution(client, args.domain, args.workflow_id, args.run_id,
                                payload_store=_payload_store(args))
    try:
        result = status.result
        result_error = None
    except (TypeError, ValueError) as exc:
        result, result_error = None, exc
    if args.json:
        info = status.to_dict(include_result=result_error is None)
        if result_error is not None:
            info['result_error'] = str(result_error)
        print(json.dumps(info, ensure_ascii=False, default=_tagged))
        return 0
    kind = status.workflow_type
    lines = [('workflow id', status.workflow_id), ('run id', status.run_id)]
    if len(status.runs) > 1:
        lines.append(('runs', ' -> '.join(status.runs)))
    if kind is not None:
        lines.append(('workflow type', '%s version %s' % kind))
    lines.append(('status', status.status if status.close_status is None
                  else '%s (%s)' % (status.status, status.close_status)))
    if status.start_time is not None:
        lines.append(('started', _time(status.start_time)))
    if status.close_time is not None:
        lines.append(('closed', _time(status.close_time)))
    if status.completed:
        lines.append(('result', _to_json(result) if result_error is None
                      else 'cannot be decoded: %s' % result_error))
    elif status.reason:
        lines.append(('reason', status.reason))
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        print('%-*s %s' % (width, label + ':', value))
    return 0


def _time(value):
    return value.isoformat(sep=' ', timespec='seconds') if hasattr(value, 'isoformat') \
        else str(value)


# -- main ----------------------------------------------------------------------------------


def _expected(exc):
    """Errors a user can cause and fix: shown as one line, without a traceback."""
    if isinstance(exc, (FlowyError, TimeoutError, ValueError, CommandError)):
        return True
    return any(cls.__module__.startswith(('botocore', 'boto3')) for cls in type(exc).__mro__)


def _message(exc):
    text = str(exc) or type(exc).__name__
    if type(exc).__name__ == 'NoRegionError':
        text += ' Give --region, or set AWS_DEFAULT_REGION.'
    elif type(exc).__name__ == 'NoCredentialsError':
        text += ' Configure AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' \
                'or ~/.aws/credentials).'
    return text


def _setup_logging(args):
    verbose = _verbosity(args)
    worker = args.command in ('decider', 'activities')
    if verbose >= 1:
        level = logging.DEBUG if worker or verbose >= 2 else logging.INFO
    else:
        level = logging.INFO if worker else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    logger = logging.getLogger('flowy')
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    if verbose >= 3:
        logging.getLogger('botocore').addHandler(handler)
        logging.getLogger('botocore').setLevel(logging.DEBUG)

    def restore():
        logger.removeHandler(handler)
        logger.setLevel(previous)
        logging.getLogger('botocore').removeHandler(handler)

    return restore


def main(argv=None):
    """Run the ``flowy`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit
    status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, 'command', None):
        parser.print_help(sys.stderr)
        return 2
    prefix = '%s %s: error:' % (PROG, args.command)
    restore = _setup_logging(args)
    try:
        return args.func(args)
    except UsageError as exc:
        print('%s %s' % (prefix, exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('%s interrupted' % prefix, file=sys.stderr)
        return 130
    except Exception as exc:
        if not _expected(exc):
            raise
        if _verbosity(args):
            import traceback

            traceback.print_exc()
        print('%s %s' % (prefix, _message(exc)), file=sys.stderr)
        return 1
    finally:
        restore()
