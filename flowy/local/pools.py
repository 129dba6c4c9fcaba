"""The pools a LocalWorkflow keeps between runs, shared by the runs active at one time."""

import logging
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from .workers import WorkerPool

__all__ = ['Pools', 'PoolKeeper', 'close_all', 'terminate_all', 'is_executor_instance']

logger = logging.getLogger('flowy')


class Pools:
    """One activity pool and (for the replay driver) the decider threads.

    Every run that uses them counts as a user.  Once *retired* no new run gets them,
    and the last user to leave shuts them down; *terminate* also kills their worker
    processes then, because the work left on them is unwanted.
    """

    def __init__(self, config):
        self.activity = start_pool(config)
        # An executor instance the user gave belongs to the user: flowy never shuts it
        # down or kills its workers.
        self.owned = not is_executor_instance(config.executor)
        # Only the replay driver decides on decider threads.
        self.deciders = None if config.driver != 'replay' else ThreadPoolExecutor(
            max_workers=config.workflow_workers, thread_name_prefix='flowy-decider')
        self.users = 0
        self.retired = False
        self.terminate = False

    def shutdown(self, wait=False):
        if self.terminate and self.owned:
            terminate_workers(self.activity)
        for pool in (self.activity if self.owned else None, self.deciders):
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)


class PoolKeeper:
    """Starts a workflow's pools on first use, shares them between runs, retires them."""

    def __init__(self, config):
        self.config = config
        self.lock = threading.Lock()
        self.current = None
        self.live = set()  # every Pools not shut down yet: the current one and retired ones in use

    def acquire(self):
        with self.lock:
            if self.current is None:
                self.current = Pools(self.config)
                self.live.add(self.current)
                _KEEPERS.add(self)
                # A workflow dropped without close() lets its workers go, as a
                # ProcessPoolExecutor that is garbage collected does.
                weakref.finalize(self, self.current.shutdown)
            self.current.users += 1
            return self.current

    def release(self, pools, interrupted=False):
        """A run is done with ``pools``.

        An interrupted run leaves work on them that nobody wants: they are retired, and
        their workers are killed as soon as no other run still uses them.
        """
        with self.lock:
            pools.users -= 1
            if interrupted:
                pools.terminate = True
                self._retire(pools)
            idle = pools.retired and pools.users == 0 and pools in self.live
            if idle:
                self.live.discard(pools)
        if idle:
            pools.shutdown()

    def close(self):
        """Retire the current pools; shut them down now unless a run still uses them."""
        with self.lock:
            pools = self.current
            if pools is None:
                return
            self._retire(pools)
            idle = pools.users == 0
            if idle:
                self.live.discard(pools)
        if idle:
            pools.shutdown(wait=True)

    def terminate(self):
        """Kill every worker of every pool now, whoever uses them (the process is ending)."""
        with self.lock:
            doomed, self.live = self.live, set()
            for pools in doomed:
                pools.terminate = True
                self._retire(pools)
        for pools in doomed:
            pools.shutdown()

    def replace_activity_pool(self, pools, broken):
        with self.lock:
            if pools.activity is broken and pools.owned:
                logger.warning('the activity pool broke (a worker died); starting a new one')
                broken.shutdown(wait=False, cancel_futures=True)
                pools.activity = start_pool(self.config)

    def _retire(self, pools):
        pools.retired = True
        if self.current is pools:
            self.current = None


# Keepers that have started pools, so that tests (and tools) can close them all.
_KEEPERS = weakref.WeakSet()


def close_all():
    """Close the pools of every LocalWorkflow that has some."""
    for keeper in list(_KEEPERS):
        keeper.close()


def terminate_all():
    """Kill the worker processes of every LocalWorkflow's pools at once."""
    for keeper in list(_KEEPERS):
        keeper.terminate()


def _noop():
    return None


def start_pool(config):
    """Create the activity pool; start a process pool's workers at once.

    ``ProcessPoolExecutor`` (the default) stands for flowy's own worker processes
    (:class:`~flowy.local.workers.WorkerPool`), which can stop one timed-out call.
    Other process pools fork their workers on first use: doing that now, before this
    run's decider threads exist, keeps forked workers from inheriting locks held by them.
    """
    if config.executor is ProcessPoolExecutor:
        return WorkerPool(config.activity_workers)
    if is_executor_instance(config.executor):
        return config.executor
    pool = config.executor(max_workers=config.activity_workers)
    if isinstance(pool, ProcessPoolExecutor):
        pool.submit(_noop).result()
    return pool


def is_executor_instance(executor):
    """True for an executor object (``Client.get_executor()``), not an executor class."""
    return not isinstance(executor, type) and callable(getattr(executor, 'submit', None))


def terminate_workers(executor):
    terminate = getattr(executor, 'terminate_workers', None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(executor, '_processes', None) or {}).values()):
        process.terminate()
