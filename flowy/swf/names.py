"""How flowy's decider names what it starts on SWF, and reads the names back.

* an activity attempt is scheduled with ``activityId`` = its call key (``square-3-0``)
  and ``control`` = ``{"position": <index of the call in the body>}``;
* a child workflow attempt gets the ``workflowId`` ``<parent workflowId>.<key>`` in the
  first run of a workflow, and ``<parent workflowId>.<tag>.<key>`` in a run continued
  from another (continue-as-new), where ``<tag>`` is 8 hex characters of a digest of the
  run it continues (``continuedExecutionRunId`` of its start event, so every run has
  its own): a continued run has the same workflowId and its call keys start at 0 again,
  and its children must neither collide with the children of the runs before it (SWF
  refuses a workflowId that is open, WORKFLOW_ALREADY_RUNNING, say a child left
  running with the ABANDON child policy) nor be mistaken for them.  ``control`` =
  ``{"key": ..., "position": ...}``; without it, the key is what follows the last dot;
* the delay before a retry is a timer named ``<key of the attempt to start>.retry``;
* the back-off before starting a call again that SWF refused for a rate or limit is a
  timer named ``<key>.backoff.<n>``, ``n`` counting the refusals;
* the timer that wakes the decider up when a response could not hold every call is
  named :data:`WAKE_UP_TIMER_PREFIX` followed by the last event id;
* a call that failed before it could start (its input could not be serialized, or is
  too large for SWF) is a :data:`CALL_FAILED_MARKER` marker with the details
  ``{"key": ..., "position": ..., "reason": ...}``;
* what a body does besides calls (:mod:`flowy.swf.effects`): a ``sleep()`` is a timer
  named by its key (``@sleep-0``: no other timer id starts with ``@``); ``marker()`` and
  ``now()`` are markers named by the body (``now``) with the details ``{"key": ...,
  "position": ..., "value": ...}``; a call cancelled before it started is a
  ``flowy.cancelled`` marker with ``{"key": ..., "position": ...}``.

SWF forbids ``:`` (and ``/``, ``|``) in activity, timer and workflow ids, hence the dots.
"""

import hashlib

__all__ = ['CALL_FAILED_MARKER', 'WAKE_UP_TIMER_PREFIX', 'MAX_ID_LENGTH', 'BACKOFF_CAP',
           'retry_timer_id', 'retry_timer_key', 'backoff_timer_id', 'backoff_timer_key',
           'backoff_delay', 'timer_of', 'run_tag', 'child_workflow_id', 'child_key_of']

CALL_FAILED_MARKER = 'flowy.call_failed'
WAKE_UP_TIMER_PREFIX = 'flowy.more.'
MAX_ID_LENGTH = 256  # activityId, timerId, workflowId and markerName
BACKOFF_CAP = 300  # seconds: the longest back-off before the jitter
RETRY_TIMER_SUFFIX = '.retry'
BACKOFF_TIMER_INFIX = '.backoff.'
RUN_TAG_LENGTH = 8


def retry_timer_id(key):
    """The id of the timer that waits before attempt ``key`` starts."""
    return key + RETRY_TIMER_SUFFIX


def retry_timer_key(timer_id):
    """The call key a retry timer starts, or None if ``timer_id`` names another timer."""
    if timer_id.endswith(RETRY_TIMER_SUFFIX):
        return timer_id[:-len(RETRY_TIMER_SUFFIX)]
    return None


def backoff_timer_id(key, refusals):
    """The id of the back-off timer after the ``refusals``-th throttled start of ``key``."""
    return '%s%s%d' % (key, BACKOFF_TIMER_INFIX, refusals)


def backoff_timer_key(timer_id):
    """``(key, n)`` of a back-off timer id, or None if ``timer_id`` names another timer."""
    head, _, count = timer_id.rpartition('.')
    if not count.isdigit() or not head.endswith(BACKOFF_TIMER_INFIX[:-1]):
        return None
    key = head[:-len(BACKOFF_TIMER_INFIX) + 1]
    return (key, int(count)) if key else None


def timer_of(timer_id):
    """``(call key, what the timer is)`` of a retry or back-off timer, else (None, None)."""
    key = retry_timer_key(timer_id)
    if key is not None:
        return key, 'retry timer'
    backoff = backoff_timer_key(timer_id)
    if backoff is not None:
        return backoff[0], 'back-off timer'
    return None, None


def _digest(value):
    return hashlib.sha256(value.encode('utf-8')).hexdigest()


def backoff_delay(key, refusals):
    """Seconds to wait after the ``refusals``-th throttled start of ``key``.

    ``2 ** (refusals - 1)`` (1, 2, 4 ...) up to :data:`BACKOFF_CAP`, plus a jitter of up
    to half of that drawn from a digest of the key and the count: calls refused together
    do not all come back at once, and every decider computes the same delay.
    """
    base = min(2 ** min(max(refusals, 1) - 1, 16), BACKOFF_CAP)
    jitter = int(_digest('%s.%d' % (key, refusals))[:8], 16) % (max(1, base // 2) + 1)
    return base + jitter


def run_tag(continued_execution_run_id):
    """The tag in the child workflow ids of a continued run (None for a first run)."""
    if not continued_execution_run_id:
        return None
    return _digest(continued_execution_run_id)[:RUN_TAG_LENGTH]


def child_workflow_id(parent_workflow_id, key, tag=None):
    """The deterministic ``workflowId`` of child workflow attempt ``key``.

    ``<parent workflowId>.<key>``, or ``<parent workflowId>.<tag>.<key>`` in a continued
    run (``tag``: :func:`run_tag` of the run it continues); when that would pass SWF's
    256 characters, the parent's id is replaced by a digest of it (still the same on
    every replay).
    """
    suffix = key if tag is None else '%s.%s' % (tag, key)
    workflow_id = '%s.%s' % (parent_workflow_id, suffix)
    if len(workflow_id) > MAX_ID_LENGTH:
        workflow_id = '%s.%s' % (_digest(parent_workflow_id)[:40], suffix)
    return workflow_id


def child_key_of(workflow_id):
    """The call key in a child ``workflowId`` flowy made (any form): after the last dot."""
    return workflow_id.rpartition('.')[2]
