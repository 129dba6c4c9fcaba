"""Handles on runs started with :meth:`LocalWorkflow.start`, each on a thread of its own."""

import threading
import uuid

from ..effects import check_signal_name
from ..errors import exception_text
from .engine import Engine, RunEnded
from .sigterm import stopping_on_sigterm

__all__ = ['RunHandle', 'RunEnded']


class RunHandle:
    """A workflow run going on in the background: wait for it, signal it, cancel it.

    ``id`` names the run (its id in the run store, if the workflow has one).  Every
    method may be called from any thread.  The run's thread is a daemon: keep the
    program alive (``result()``) until the runs it started have ended.
    """

    def __init__(self, workflow, run_id):
        self.id = run_id
        self._workflow = workflow
        self._engine = None
        self._finished = threading.Event()
        self._value = None
        self._error = None

    # -- started by LocalWorkflow.start() ----------------------------------------------

    def _start(self, engine, input_data, run_id, loaded, tracer, path):
        self._engine = engine
        thread = threading.Thread(target=self._main,
                                  args=(engine, input_data, run_id, loaded, tracer, path),
                                  name='flowy-run-%s' % self.id, daemon=True)
        thread.start()

    def _main(self, engine, input_data, run_id, loaded, tracer, path):
        try:
            with stopping_on_sigterm():
                try:
                    self._value = engine.run(input_data, run_id, loaded)
                finally:
                    if path is not None:
                        tracer.write(path)
        except BaseException as exc:  # the run's error, given to whoever asks result()
            self._error = exc
        self._finished.set()

    def _ended(self, outcome):
        """A stored run that had ended already: ``outcome()`` returns or raises."""
        try:
            self._value = outcome()
        except BaseException as exc:
            self._error = exc
        self._finished.set()

    # -- what users call ----------------------------------------------------------------

    def done(self):
        """True once the run has ended (finished, failed or cancelled)."""
        return self._finished.is_set()

    def result(self, timeout=None):
        """The run's result, once it has ended; or raise its error.

        Raises :class:`TimeoutError` if it has not ended within ``timeout`` seconds
        (None: wait as long as it takes).
        """
        if not self._finished.wait(timeout):
            raise TimeoutError('run %s has not ended after %g s' % (self.id, timeout))
        if self._error is not None:
            raise self._error
        return self._value

    def signal(self, name, value=None):
        """Send the signal ``name`` carrying ``value`` to the run.

        The body receives it with :func:`flowy.wait_signal` (signals are kept until it
        waits).  ``value`` must be serializable by the workflow's transport.  Raises
        :class:`RunEnded` if the run has ended; returns once the run has the signal.
        """
        name = check_signal_name(name)
        try:
            data = self._workflow.transport.dumps(value)
        except Exception as exc:
            raise TypeError('cannot send the signal %r to run %s: its value cannot be '
                            'serialized (%s)' % (name, self.id, exception_text(exc))) from exc
        engine = self._engine
        if engine is None or self.done():
            raise RunEnded('run %s has ended: it takes no more signals' % self.id)
        if not engine.deliver(lambda: engine.top.signalled(name, data)).result():
            raise RunEnded('run %s has ended: it takes no more signals' % self.id)

    def cancel(self, reason=None):
        """Cancel the run: what it runs is stopped, and it ends with TaskCancelled.

        Returns True if the run was cancelled, False if it had ended already.
        """
        engine = self._engine
        if engine is None or self.done():
            return False
        try:
            return engine.deliver(lambda: engine.top.cancel_run(reason)).result()
        except RunEnded:
            return False

    def __repr__(self):
        state = 'ended' if self.done() else 'running'
        return '<RunHandle %s %s>' % (self.id, state)


def new_run_name(workflow):
    """An id for a run without a store: the workflow's name and a random part."""
    return '%s-%s' % (workflow, uuid.uuid4().hex[:12])


def start_run(workflow, prepared, wait, trace):
    """Start the run ``prepared`` by :meth:`LocalWorkflow._prepare` on its own thread."""
    from .workflow import _tracer_for

    outcome, input_data, run_id, loaded = prepared
    name = run_id if run_id is not None else new_run_name(workflow.name)
    handle = RunHandle(workflow, name)
    if outcome is not None:
        handle._ended(outcome)
        return handle
    tracer, path = _tracer_for(trace)
    engine = Engine(workflow, wait, tracer, name=name, reachable=True)
    handle._start(engine, input_data, run_id, loaded, tracer, path)
    return handle
