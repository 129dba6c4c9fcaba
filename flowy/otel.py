"""OpenTelemetry spans from :mod:`flowy.events`: ``pip install 'flowy[otel]'``.

::

    from flowy.otel import instrument

    instrument()  # the global tracer provider, or instrument(tracer_provider=...)

Each run becomes a span (``flowy.run <workflow>``) from its start to its end, and each
task call a child span (``flowy.task <dep>``) from its scheduling to its outcome, with
the run id, the call key and the attempt as attributes.  A failed, timed-out or
cancelled call, or a failed run, gets an error status with the reason.  The spans of an
engine's runs are kept apart by sender (the local engine, the SWF decider), so a
process running both draws both.
"""

import threading

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from . import events

__all__ = ['instrument', 'Instrumentation']


class Instrumentation:
    """The receivers that turn events into spans; :meth:`close` disconnects them."""

    def __init__(self, tracer_provider=None):
        self.tracer = trace.get_tracer('flowy', tracer_provider=tracer_provider)
        self.lock = threading.Lock()
        self.runs = {}  # (sender, run id) -> span
        self.tasks = {}  # (sender, run id, key) -> span
        self._connected = [
            (events.run_started, self._run_started),
            (events.run_finished, self._run_ended),
            (events.run_failed, self._run_ended),
            (events.task_scheduled, self._task_scheduled),
            (events.task_finished, self._task_ended),
            (events.task_failed, self._task_ended),
            (events.task_timed_out, self._task_ended),
        ]
        for event, receiver in self._connected:
            event.connect(receiver)

    def close(self):
        """Stop making spans (those open stay open)."""
        for event, receiver in self._connected:
            event.disconnect(receiver)

    # -- receivers ----------------------------------------------------------------------

    def _run_started(self, sender, **event):
        parent = None
        if event.get('parent') is not None:
            with self.lock:
                parent = self.tasks.get((sender, event['parent'], event['parent_key']))
        span = self.tracer.start_span(
            'flowy.run %s' % event['workflow'], start_time=_ns(event['at']),
            context=None if parent is None else trace.set_span_in_context(parent),
            attributes={'flowy.run_id': event['run_id'], 'flowy.workflow': event['workflow'],
                        'flowy.engine': sender})
        with self.lock:
            self.runs[(sender, event['run_id'])] = span

    def _run_ended(self, sender, **event):
        with self.lock:
            span = self.runs.pop((sender, event['run_id']), None)
        _end(span, event)

    def _task_scheduled(self, sender, **event):
        with self.lock:
            run = self.runs.get((sender, event['run_id']))
        span = self.tracer.start_span(
            'flowy.task %s' % event['dep'], start_time=_ns(event['at']),
            context=None if run is None else trace.set_span_in_context(run),
            attributes={'flowy.run_id': event['run_id'], 'flowy.key': event['key'],
                        'flowy.attempt': event['attempt'],
                        'flowy.kind': event.get('kind') or 'activity'})
        with self.lock:
            self.tasks[(sender, event['run_id'], event['key'])] = span

    def _task_ended(self, sender, **event):
        with self.lock:
            span = self.tasks.pop((sender, event['run_id'], event['key']), None)
        _end(span, event)


def instrument(tracer_provider=None):
    """Make spans of every run and task call from now on; returns the
    :class:`Instrumentation` (``close()`` it to stop)."""
    return Instrumentation(tracer_provider)


def _end(span, event):
    """End ``span`` (if any) as ``event`` says: an error status when it has a reason."""
    if span is None:
        return
    if 'reason' in event:
        span.set_status(Status(StatusCode.ERROR, event['reason']))
        span.set_attribute('flowy.cancelled', bool(event.get('cancelled')))
    span.end(end_time=_ns(event['at']))


def _ns(seconds):
    return int(seconds * 1e9)
