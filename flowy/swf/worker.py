"""What the decider and the activity worker share: a registry, scanning, the poll loop.

A worker polls one task list of one domain and handles the tasks it gets, one at a
time, until :meth:`stop` is called (from any thread) or the process gets SIGTERM or
SIGINT: the task in hand is finished first, then :meth:`run_forever` returns.  A poll
that fails (network, throttling) is logged and tried again after a growing pause,
never in a busy loop.
"""

import importlib
import logging
import os
import random
import signal
import socket
import sys
import threading

import venusian

from .client import SWFClient

__all__ = ['Worker', 'as_client', 'default_identity']

log = logging.getLogger('flowy.swf')

MAX_IDENTITY = 256


def default_identity():
    """``<host>-<pid>``, cut to SWF's 256 characters (the end is kept: it differs)."""
    return ('%s-%d' % (socket.getfqdn(), os.getpid()))[-MAX_IDENTITY:]


def as_client(swf_client, **options):
    """An :class:`SWFClient` for ``swf_client``: None (a new one, made with ``options``),
    a boto3 client, or a stand-in."""
    if swf_client is None:
        return SWFClient(**options)
    if isinstance(swf_client, SWFClient):
        return swf_client
    if hasattr(getattr(swf_client, 'meta', None), 'service_model'):  # a boto3 client
        return SWFClient(client=swf_client)
    return swf_client  # anything with SWFClient's methods


def setup_default_logging():
    """Log flowy's INFO messages to stderr, unless logging is configured already."""
    logger = logging.getLogger('flowy')
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _caller_package(depth):
    """The package of the module ``depth`` frames up (the module itself if it has none)."""
    module_name = sys._getframe(depth + 1).f_globals.get('__name__', '__main__')
    module = sys.modules[module_name]
    package = getattr(module, '__package__', None)
    if package and not hasattr(module, '__path__'):
        return sys.modules[package]
    return module


class _Backoff:
    """Pauses after failed polls: doubling from ``first`` up to ``maximum``, with jitter."""

    def __init__(self, first, maximum):
        self.first = first
        self.maximum = maximum
        self.failures = 0

    def next_pause(self):
        self.failures += 1
        pause = min(self.maximum, self.first * 2 ** (self.failures - 1))
        return pause * random.uniform(0.5, 1.0)

    def reset(self):
        self.failures = 0


class Worker:
    """Base of :class:`SWFWorkflowWorker` and :class:`SWFActivityWorker`."""

    category = None  # the venusian category of the configs this worker takes
    config_class = None
    kind = 'task'
    poll_retry_first = 1.0  # seconds before polling again after a failed poll
    poll_retry_max = 60.0
    client_options = {}  # how run_forever makes its SWFClient when given none

    def __init__(self):
        self.registry = {}
        self._stop = threading.Event()
        self._running = threading.Lock()

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, ', '.join(
            '%s:%s' % key for key in sorted(self.registry)) or 'empty')

    # -- what it runs ---------------------------------------------------------------------

    def register(self, config, obj, version, name=None):
        """Run ``obj`` as the type ``name`` (default: its ``__name__``) ``version``."""
        if not isinstance(config, self.config_class):
            raise TypeError('%s takes %s configs; got %r' % (
                type(self).__name__, self.config_class.__name__, config))
        task = config.bind(obj, version, name)
        if task.key in self.registry:
            raise ValueError('the %s type %s version %s is registered twice in this worker; '
                             'give one of them another name or version'
                             % ((self.kind,) + task.key))
        self.registry[task.key] = task
        return task

    def scan(self, package=None, ignore=None):
        """Register what the configs of this worker's kind decorated in ``package``.

        ``package``: a module or package, or its dotted name; by default the package
        of the code calling ``scan``.  ``ignore``: what venusian should skip (names,
        regular expressions or callables).
        """
        if package is None:
            package = _caller_package(1)
        elif isinstance(package, str):
            package = importlib.import_module(package)
        scanner = venusian.Scanner(worker=self)
        scanner.scan(package, categories=(self.category,), ignore=ignore)
        return self

    def register_remote(self, swf_client, domain):
        """Register every type of the registry on SWF (or check the existing ones)."""
        client = as_client(swf_client)
        for key in sorted(self.registry):
            if self.registry[key].register_remote(client, domain):
                log.info('registered the %s type %s version %s', self.kind, *key)

    # -- the loop ---------------------------------------------------------------------------

    def stop(self):
        """Finish the task in hand (if any) and return from :meth:`run_forever`."""
        self._stop.set()

    @property
    def stopping(self):
        return self._stop.is_set()

    def run_forever(self, domain, task_list, swf_client=None, setup_log=True,
                    register_remote=True, identity=None):
        """Poll ``task_list`` in ``domain`` and handle its tasks until stopped.

        ``swf_client``: an :class:`SWFClient` or a boto3 SWF client (default: a new
        one).  ``register_remote``: register the types first (an existing type must have
        the same defaults).  ``identity`` names this worker in the history (default
        ``<host>-<pid>``).
        """
        if not self._running.acquire(blocking=False):
            raise RuntimeError('%r is running already; start another worker instead' % self)
        try:
            if setup_log:
                setup_default_logging()
            client = as_client(swf_client, **self.client_options)
            identity = (identity or default_identity())[-MAX_IDENTITY:]
            if register_remote:
                self.register_remote(client, domain)
            with _StopOnSignals(self):
                log.info('%s polling %s in %s as %s', type(self).__name__, task_list, domain,
                         identity)
                self._loop(client, domain, task_list, identity)
        finally:
            # cleared on the way out, not in: a stop() that came before the loop counts
            self._stop.clear()
            self._running.release()

    def _loop(self, client, domain, task_list, identity):
        backoff = _Backoff(self.poll_retry_first, self.poll_retry_max)
        while not self._stop.is_set():
            try:
                task = self.poll(client, domain, task_list, identity)
            except Exception as exc:
                pause = backoff.next_pause()
                log.warning('polling %s in %s failed (%s in a row); trying again in %.1f s: %s',
                            task_list, domain, backoff.failures, pause, exc)
                self._stop.wait(pause)
                continue
            backoff.reset()
            if task is not None:
                self.handle(client, task)

    def poll(self, client, domain, task_list, identity):
        """Wait for one task of ``task_list`` in ``domain`` (a long poll through
        ``client``, an SWFClient, as worker ``identity``); return it, or None when the
        poll ended without one."""
        raise NotImplementedError

    def handle(self, client, task):
        """Carry out ``task`` (what :meth:`poll` returned), answering SWF through
        ``client``; never raise (log instead)."""
        raise NotImplementedError


class _StopOnSignals:
    """While a worker runs in the main thread, SIGTERM and SIGINT stop it gracefully."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, worker):
        self.worker = worker
        self.previous = {}

    def _handler(self, signum, frame):
        if self.worker.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        log.info('got signal %d: finishing the task in hand, then stopping', signum)
        self.worker.stop()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()
        return False
