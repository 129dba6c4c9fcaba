"""``flowy local`` commands that act on stored runs (resume, repair, rerun, restart,
signal and cancel), and what every ``flowy local`` command shares: opening the store,
finding the workflow of ``--workflow``.
"""

import importlib
import json
import os
import sys
from contextlib import contextmanager

from ..config import ACTIVITY
from ..errors import FlowyError, TaskError, exception_text, failed_call_text
from ..serialization import JSON
from .runner import run_in_worker
from .store import SQLiteStore, StoreError
from .store_inbox import restarted_as
from .store_records import CANCELLED_REASON, INTERRUPTED
from .workflow import LocalWorkflow

__all__ = ['CommandLineError', 'open_store_file', 'reading', 'find_workflow',
           'stored_workflow', 'ACTIONS']


class CommandLineError(FlowyError):
    """The command line asks for something impossible (exit status 2)."""


def open_store_file(path):
    # SQLiteStore creates a missing file: looking at a store must not.
    if not os.path.exists(path):
        raise StoreError('there is no run store %s' % path)
    return SQLiteStore(path)


@contextmanager
def reading(args):
    store = open_store_file(args.store)
    try:
        yield store
    finally:
        store.close()


def _run_of(store, run_id, workflow):
    """The record of ``run_id``, which must be a run of ``workflow``."""
    run = store.run(run_id)
    if run.workflow != workflow.name:
        raise ValueError('run %s in %s is a run of %s, not of %s'
                         % (run.id, store.path, run.workflow, workflow.name))
    return run


def _restart(args):
    with stored_workflow(args) as workflow:
        store = workflow.store
        run = _run_of(store, args.run_id, workflow)
        try:
            positional, keywords = workflow.transport.loads(run.input)
        except (TypeError, ValueError) as exc:
            raise StoreError('the input of run %s cannot be decoded: %s'
                             % (run.id, exception_text(exc))) from exc
        new_id = args.new_id or store.new_run_id(workflow.name)
        if args.new_id is not None and _exists(store, new_id):
            raise ValueError('the store %s has a run %s already: choose another --id'
                             % (store.path, new_id))
        print('run id: %s' % new_id)
        sys.stdout.flush()
        result = workflow.run(*positional, _id=new_id, _progress=True, **dict(keywords))
    print(json.dumps(result, default=repr))
    return 0


def _exists(store, run_id):
    try:
        store.run(run_id)
    except StoreError:
        return False
    return True


def find_workflow(spec):
    module_name, _, name = spec.rpartition(':')
    if not module_name or not name:
        raise CommandLineError('--workflow must be MODULE:NAME (such as myproject.jobs:nightly); '
                         'got %r' % spec)
    cwd = os.getcwd()
    if cwd not in sys.path and '' not in sys.path:
        sys.path.insert(0, cwd)
    if module_name.endswith('.py'):
        if not os.path.isfile(module_name):
            raise CommandLineError('no such file: %s' % module_name)
        directory, filename = os.path.split(os.path.abspath(module_name))
        if directory not in sys.path:
            sys.path.insert(0, directory)
        module_name = filename[:-3]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + '.')):
            raise CommandLineError('cannot find the module %s: run flowy from the directory that '
                             'holds it, or add that directory to PYTHONPATH'
                             % module_name) from None
        raise
    workflow = getattr(module, name, None)
    if not isinstance(workflow, LocalWorkflow):
        raise CommandLineError('%s in %s is %s, not a LocalWorkflow object' % (
            name, module_name, 'missing' if workflow is None else type(workflow).__name__))
    return workflow


@contextmanager
def stored_workflow(args):
    """``with stored_workflow(args) as workflow:`` the workflow of --workflow, with its
    store (one this command had to open for it is closed on leaving)."""
    workflow = find_workflow(args.workflow)
    if workflow.store is None:
        if args.store is None:
            raise CommandLineError('the workflow %s has no store: give --store' % args.workflow)
        workflow.store = store = open_store_file(args.store)
        try:
            yield workflow
        finally:
            workflow.store = None
            store.close()
        return
    if args.store is not None and (os.path.realpath(args.store)
                                   != os.path.realpath(workflow.store.path)):
        raise CommandLineError('the workflow %s uses the store %s, not %s'
                         % (args.workflow, workflow.store.path, args.store))
    yield workflow


def _rerun(args):
    with stored_workflow(args) as workflow:
        workflow.store.run(args.run_id)  # an unknown id must not start a new run
        # a live progress bar on a terminal (nothing otherwise)
        if args.command == 'resume':
            result = workflow.run(_id=args.run_id, _progress=True)
        else:
            result = workflow.repair(args.run_id, _progress=True)
    print(json.dumps(result, default=repr))
    return 0


def _rerun_call(args):
    with stored_workflow(args) as workflow:
        store = workflow.store
        run = _run_of(store, args.run_id, workflow)
        call = next((call for call in store.calls(run.id) if call.key == args.key), None)
    if call is None:
        raise StoreError('run %s in %s has no call %s' % (run.id, store.path, args.key))
    spec = workflow.specs.get(call.dep)
    if spec is None or spec.kind is not ACTIVITY:
        raise ValueError('call %s of run %s is not an activity call of %s (dependency %s '
                         'is %s)' % (call.key, run.id, workflow.name, call.dep,
                                     'not configured' if spec is None else 'a workflow'))
    if call.input is None:
        raise StoreError('call %s of run %s has no recorded input' % (call.key, run.id))
    try:
        result = spec.transport.loads(run_in_worker(spec.target, spec.transport, call.key,
                                                    call.input))
    except Exception as exc:  # the activity failed: one line, as for a failed run
        reason, type_name = exception_text(exc), type(exc).__name__
        if isinstance(exc, TaskError) and exc.type_name is not None:
            reason, type_name = exc.reason, exc.type_name  # one that could not travel
        raise TaskError(reason, call.key, type_name, exc,
                        failed_call_text(call.key, reason, type_name)) from exc
    print(json.dumps(result, default=repr))
    return 0


def _holder(run):
    if run.owner_pid is None:
        return ''
    return ', process %s on %s' % (run.owner_pid, run.owner_host)


def _signal(args):
    try:
        value = json.loads(args.value)
    except ValueError as exc:
        raise CommandLineError('the value of signal %s for run %s is not JSON (%s): %r'
                               % (args.name, args.run_id, exc, args.value)) from None
    data = JSON.dumps(value)
    with reading(args) as store:
        run = store.latest(args.run_id)
        store.send(args.run_id, 'signal', args.name, data)
    when = ('when it is resumed' if run.state == INTERRUPTED
            else 'at its next decision')
    print('signal %s queued for run %s (%s%s): the run receives it %s'
          % (args.name, restarted_as(args.run_id, run), run.state, _holder(run), when))
    return 0


def _cancel(args):
    with reading(args) as store:
        run = store.latest(args.run_id)
        outcome = store.send(args.run_id, 'cancel', data=args.reason)
        if outcome == 'cancelled':
            ended = store.run(run.id)
            children = [child.id for child in store.runs(children=True)
                        if child.reason == '%s: its parent run %s was cancelled'
                        % (CANCELLED_REASON, run.id)]
    followed = restarted_as(args.run_id, run)
    if outcome == 'cancelled':
        print('run %s cancelled: no process was running it; it has failed: %s'
              % (followed, ended.reason))
        if children:
            print('its child runs that had not ended were cancelled too: %s'
                  % ', '.join(children))
    else:
        print('cancellation of run %s queued (%s%s): the process running it cancels it '
              'at its next decision' % (followed, run.state, _holder(run)))
    return 0


ACTIONS = {'resume': _rerun, 'repair': _rerun, 'rerun': _rerun_call, 'signal': _signal,
           'cancel': _cancel, 'restart': _restart}
