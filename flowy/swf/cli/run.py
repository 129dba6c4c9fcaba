"""``flowy run``: a decider, an activity worker and one execution in this process.

The workers poll a private task list (``flowy-<uuid>``) that every activity and child
workflow of the run is sent to, whatever its configured task list, so that nothing else
polling the domain takes its tasks.
"""

import logging
import math
import os
import threading
import time
import uuid

from ...errors import TaskError
from ...progress import watching
from ..activity import SWFActivityWorker
from ..client import error_code
from ..decider import SWFWorkflowWorker
from ..status import wait_for_result
from ..types import MAX_WORKFLOW_DURATION
from .context import (
    check_input,
    import_modules,
    payload_store,
    scan,
    starter,
    swf_client,
    workflow_input,
)
from .errors import CommandError, CommandLineError
from .output import print_result

__all__ = ['run']

log = logging.getLogger('flowy.swf.cli')

WAIT_CHUNK = 2.0  # seconds between checks that both workers still run
JOIN_TIMEOUT = 75  # seconds: longer than SWF's 60 s long poll


def run(args):
    positional, keywords = workflow_input(args)
    modules = import_modules([args.module])
    store = payload_store(args)
    task_list = 'flowy-%s' % uuid.uuid4().hex
    decider, activities = _workers(args, modules, store, task_list)
    client = swf_client(args, connect=False)
    starting = _starter(args, decider, client, store, task_list)
    check_input(starting, positional, keywords)
    client.client  # noqa: B018 - made in this thread, as the workers' clients below
    _register_domain(client, args.domain)
    decider.register_remote(client, args.domain)
    activities.register_remote(client, args.domain)
    identity = 'flowy-run-%d' % os.getpid()
    threads = [_WorkerThread(worker, args.domain, task_list, swf_client(args),
                             '%s-%s' % (identity, name))
               for worker, name in ((decider, 'decider'), (activities, 'activities'))]
    for thread in threads:
        thread.start()
    try:
        print_result(_run_once(args, starting, client, threads, store, positional, keywords))
    finally:
        _stop_workers(threads)
    return 0


def _workers(args, modules, store, task_list):
    """The decider and the activity worker of the module, on the private task list."""
    decider = scan(SWFWorkflowWorker(driver=args.driver, payload_store=store,
                                     task_list_override=task_list), modules)
    activities = scan(SWFActivityWorker(payload_store=store), modules)
    if (args.name, args.version) not in decider.registry:
        found = ', '.join('%s %s' % key for key in sorted(decider.registry)) or 'none'
        raise CommandLineError('no workflow %s version %s in %s (found: %s)'
                               % (args.name, args.version, args.module, found))
    return decider, activities


def _starter(args, decider, client, store, task_list):
    """A starter that fills in what the workflow type does not default."""
    config = decider.registry[(args.name, args.version)].swf_config
    workflow_duration = None
    if config.default_workflow_duration is None:
        workflow_duration = min(math.ceil(args.timeout) + 60 if args.timeout else 3600,
                                MAX_WORKFLOW_DURATION)
    task_duration = None if config.default_decision_duration is not None else 60
    child_policy = None if config.default_child_policy is not None else 'TERMINATE'
    return starter(args, client, store, task_list=task_list, task_duration=task_duration,
                   workflow_duration=workflow_duration, child_policy=child_policy)


def _run_once(args, starting, client, threads, store, positional, keywords):
    """Start the execution and return its result; terminate it if the wait fails."""
    workflow_id, run_id = starting.start(*positional, **keywords)
    log.info('started %s %s: workflow id %s, run id %s', args.name, args.version,
             workflow_id, run_id)
    try:
        # The decider and the activity worker run here: their events draw a progress
        # bar of the run on a terminal (nothing otherwise).
        with watching(run_id, True, args.name):
            return _wait(client, args, workflow_id, run_id, threads, store)
    except TaskError:
        raise  # the workflow failed: it is closed
    except BaseException:
        _terminate(client, args.domain, workflow_id, run_id)
        raise


def _register_domain(client, domain):
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


def _stop_workers(threads):
    """Stop the workers; wait for their polls to end (on SWF, up to a minute)."""
    for thread in threads:
        thread.worker.stop()
    log.info('stopping the workers: each finishes its task in hand or its poll (a long poll '
             'on SWF lasts up to 60 s; Ctrl-C to leave at once)')
    try:
        for thread in threads:
            thread.join(timeout=JOIN_TIMEOUT)
    except KeyboardInterrupt:
        pass  # daemon threads: they end with this process


def _wait(client, args, workflow_id, run_id, threads, store):
    """Wait for the result, checking now and then that both workers are still running."""
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        chunk = WAIT_CHUNK
        if deadline is not None:
            chunk = min(chunk, max(0.0, deadline - time.monotonic()))
        try:
            return wait_for_result(client, args.domain, workflow_id, run_id, timeout=chunk,
                                   poll_interval=0.2, payload_store=store)
        except TimeoutError:
            pass
        _check_workers(threads)
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandError('the workflow %s %s did not finish within %g s (workflow id '
                               '%s); it was terminated' % (args.name, args.version,
                                                          args.timeout, workflow_id))


def _check_workers(threads):
    for thread in threads:
        if not thread.is_alive():
            reason = thread.error or 'it stopped'
            raise CommandError('the %s worker stopped before the workflow finished: %s'
                               % (thread.worker.kind, reason))


def _terminate(client, domain, workflow_id, run_id):
    try:
        client.terminate_workflow_execution(domain, workflow_id, run_id,
                                            reason='flowy run stopped before it finished')
    except Exception as exc:  # best effort: the execution times out anyway
        log.warning('could not terminate the workflow execution %s: %s', workflow_id, exc)
