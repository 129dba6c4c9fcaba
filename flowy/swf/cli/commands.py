"""The commands of ``flowy``: start, decider, activities, status, and (from the other
modules here) run, signal, cancel, terminate, trace, list, history, tasks, profile,
restart.

Each takes the parsed arguments and returns the exit status (0), or raises a
:class:`~flowy.swf.cli.errors.CommandLineError` or another error that
:func:`~flowy.swf.cli.main.main` reports.
"""

import sys

from ..activity import SWFActivityWorker
from ..decider import SWFWorkflowWorker
from ..notes import run_notes
from ..status import describe_execution, wait_for_result
from .context import (
    check_input,
    import_modules,
    payload_store,
    scan,
    starter,
    swf_client,
    verbosity,
    workflow_input,
)
from .control import COMMANDS as CONTROL_COMMANDS
from .errors import CommandLineError
from .ops import COMMANDS as OPERATION_COMMANDS
from .output import print_result, print_status
from .run import run
from .trace import COMMANDS as TRACE_COMMANDS

__all__ = ['COMMANDS']


def start(args):
    positional, keywords = workflow_input(args)
    client = swf_client(args, connect=False)  # usage errors first
    starting = starter(args, client, payload_store(args), task_list=args.task_list,
                       task_duration=args.task_duration,
                       workflow_duration=args.workflow_duration, wid=args.workflow_id,
                       tags=args.tags, child_policy=args.child_policy,
                       priority=args.priority, lambda_role=args.lambda_role)
    check_input(starting, positional, keywords)
    workflow_id, run_id = starting.start(*positional, **keywords)
    print('workflow id: %s' % workflow_id)
    print('run id: %s' % run_id)
    sys.stdout.flush()
    if args.wait:
        print_result(wait_for_result(client, args.domain, workflow_id, run_id,
                                     timeout=args.timeout,
                                     payload_store=starting.payload_store))
    return 0


def _worker(args, worker):
    scan(worker, import_modules(args.modules))
    if not worker.registry:
        raise CommandLineError('no %s found in %s: decorate them with an %s' % (
            'workflows' if worker.kind == 'workflow' else 'activities',
            ', '.join(args.modules), worker.config_class.__name__))
    client = swf_client(args, **worker.client_options)
    worker.run_forever(args.domain, args.task_list, swf_client=client, setup_log=False,
                       register_remote=args.register, identity=args.identity)
    return 0


def decider(args):
    return _worker(args, SWFWorkflowWorker(driver=args.driver,
                                           payload_store=payload_store(args)))


def activities(args):
    return _worker(args, SWFActivityWorker(payload_store=payload_store(args)))


def status(args):
    client = swf_client(args)
    store = payload_store(args)
    found = describe_execution(client, args.domain, args.workflow_id, args.run_id,
                               payload_store=store)
    notes = run_notes(client, args.domain, args.workflow_id, found.run_id, payload_store=store)
    print_status(found, as_json=args.json, notes=notes, verbose=verbosity(args) > 0)
    return 0


COMMANDS = {'start': start, 'decider': decider, 'activities': activities, 'run': run,
            'status': status, **CONTROL_COMMANDS, **TRACE_COMMANDS, **OPERATION_COMMANDS}
