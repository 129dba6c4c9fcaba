"""Events: what happens to runs and their tasks, for observers (progress, logs, tracing).

Each event is a `blinker <https://blinker.readthedocs.io>`_ signal.  Connect a function
to hear it::

    from flowy import events

    @events.task_failed.connect
    def report(sender, **event):
        print(event['key'], 'failed:', event['reason'])

Engines send them, never the workflow code: the local engine (sender ``'local'``), the
SWF decider (``'swf-decider'``, from the history it reads) and the SWF activity worker
(``'swf-activity'``, for the tasks it runs).  Every event carries ``run_id`` (the run's
id: a store id, a handle's id, or an SWF run id), ``workflow`` (its name) and ``at``
(``time.time()`` when it happened); task events also carry ``key`` (``square-3-0``),
``dep`` and ``attempt``.  More, per event:

=====================  =================================================================
event                  also carries
=====================  =================================================================
``run_started``        ``parent`` (the parent run's id, or None), ``parent_key``
``run_finished``       ``duration`` (seconds since the run started, when known)
``run_failed``         ``reason``, ``cancelled`` (True for a cancelled run), ``duration``
``decision_made``      ``calls`` (commands in the decision), ``duration`` (seconds)
``task_scheduled``     ``kind`` (``'activity'``, ``'workflow'``, ``'timer'``)
``task_started``       (sent from the thread or worker that runs the task)
``task_finished``      ``duration`` (seconds from scheduled, when known)
``task_failed``        ``reason``, ``cancelled`` (True for a cancelled task)
``task_retried``       ``delay`` (seconds before the attempt starts)
``task_timed_out``     ``reason``
=====================  =================================================================

Receivers may be called from other threads than the one that started the run (worker
threads, the decider's thread): keep them quick and thread-safe; an exception in a
receiver is logged, never raised into the engine.  With no receiver connected an event
costs one test of an empty dict.

The ``flowy`` logger hears runs starting and ending at INFO, and retries and timeouts
at WARNING.
"""

import logging
import time

from blinker import Namespace

__all__ = ['run_started', 'run_finished', 'run_failed', 'decision_made', 'task_scheduled',
           'task_started', 'task_finished', 'task_failed', 'task_retried', 'task_timed_out',
           'send', 'ALL']

_events = Namespace()

run_started = _events.signal('run_started', doc='A run started (or resumed).')
run_finished = _events.signal('run_finished', doc='A run returned its result.')
run_failed = _events.signal('run_failed', doc='A run failed, or was cancelled.')
decision_made = _events.signal('decision_made', doc='A decision of a run was made.')
task_scheduled = _events.signal('task_scheduled', doc='A task call was scheduled.')
task_started = _events.signal('task_started', doc='A worker started a task call.')
task_finished = _events.signal('task_finished', doc='A task call returned.')
task_failed = _events.signal('task_failed', doc='A task call failed or was cancelled.')
task_retried = _events.signal('task_retried', doc='A task call is tried again.')
task_timed_out = _events.signal('task_timed_out', doc='An attempt of a task timed out.')

#: Every event, by name.
ALL = {signal.name: signal for signal in (
    run_started, run_finished, run_failed, decision_made, task_scheduled, task_started,
    task_finished, task_failed, task_retried, task_timed_out)}

logger = logging.getLogger('flowy')


def send(event, sender, **fields):
    """Send ``event`` from ``sender`` with ``fields`` (and ``at``), if anyone listens.

    For engines.  A receiver that raises is logged and the others still hear the event.
    """
    receivers = event.receivers
    if not receivers:
        return
    fields.setdefault('at', time.time())
    for receiver in list(event.receivers_for(sender)):
        try:
            receiver(sender, **fields)
        except Exception:
            logger.exception('a receiver of the flowy event %s failed', event.name)


def _log_run_started(sender, **event):
    if event.get('parent') is None:
        logger.info('run %s of %s started', event['run_id'], event['workflow'])


def _log_run_finished(sender, **event):
    if event.get('parent') is None:
        logger.info('run %s of %s finished%s', event['run_id'], event['workflow'],
                    _took(event))


def _log_run_failed(sender, **event):
    if event.get('parent') is None:
        logger.info('run %s of %s %s%s: %s', event['run_id'], event['workflow'],
                    'was cancelled' if event.get('cancelled') else 'failed', _took(event),
                    event['reason'])


def _log_retried(sender, **event):
    logger.warning('%s of run %s is tried again (attempt %d) in %g s', event['key'],
                   event['run_id'], event['attempt'] + 1, event.get('delay') or 0)


def _log_timed_out(sender, **event):
    logger.warning('%s of run %s timed out: %s', event['key'], event['run_id'],
                   event['reason'])


def _took(event):
    duration = event.get('duration')
    return '' if duration is None else ' in %.3g s' % duration


run_started.connect(_log_run_started)
run_finished.connect(_log_run_finished)
run_failed.connect(_log_run_failed)
task_retried.connect(_log_retried)
task_timed_out.connect(_log_timed_out)
