"""The SWF types a workflow's dependencies start, and SWF's rules for names and durations.

A :class:`TaskType` says how one dependency of a workflow is reached on SWF: the
activity or workflow type to start, and the options of its start decision that override
the type's registered defaults.  Every value is checked the way SWF will check it, when
the type is made, so that a mistake shows where it was written rather than as a refused
decision at run time.
"""

from ..config import ACTIVITY, WORKFLOW
from .names import MAX_ID_LENGTH

__all__ = ['TaskType', 'CHILD_POLICIES', 'MAX_DURATION', 'MAX_WORKFLOW_DURATION', 'check_name',
           'check_duration', 'check_child_policy']

CHILD_POLICIES = ('TERMINATE', 'REQUEST_CANCEL', 'ABANDON')
MAX_DURATION = 99999999  # SWF durations are strings of at most 8 digits
MAX_WORKFLOW_DURATION = 365 * 24 * 3600  # an execution may not run longer than a year
_MAX_VERSION = 64
_FORBIDDEN = frozenset(':/|') | frozenset(map(chr, range(0x20))) | frozenset(
    map(chr, range(0x7f, 0xa0)))


def check_name(field, value, limit):
    """``value`` as an SWF name or id (a version may be an int), else ValueError."""
    if type(value) is int and field == 'version':
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValueError('%s must be a non-empty string; got %r' % (field, value))
    if len(value) > limit:
        raise ValueError('%s must be at most %d characters; got %d' % (field, limit, len(value)))
    if value == 'arn' or any(char in _FORBIDDEN for char in value):
        raise ValueError('%s %r is not a valid SWF name: it may not contain ":", "/", "|" or '
                         'control characters, nor be "arn"' % (field, value))
    return value


def check_duration(field, value, allow_none=True, maximum=MAX_DURATION):
    """A duration in seconds as SWF wants it: a string of digits, or ``NONE``."""
    if value is None:
        return None
    if isinstance(value, str) and value.upper() == 'NONE':
        if not allow_none:
            raise ValueError('%s cannot be NONE on SWF; give a number of seconds up to %d'
                             % (field, maximum))
        return 'NONE'
    if type(value) is not int or not 0 < value <= maximum:
        raise ValueError('%s must be a whole number of seconds from 1 to %d%s; got %r'
                         % (field, maximum, ", or 'NONE'" if allow_none else '', value))
    return str(value)


def check_child_policy(value):
    """``value`` as SWF's child policy (upper case), None if it is None, else ValueError."""
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in CHILD_POLICIES:
        return value.upper()
    raise ValueError('child_policy must be one of %s; got %r' % (', '.join(CHILD_POLICIES),
                                                                  value))


class TaskType:
    """How one dependency of a workflow is reached on SWF: the registered type to start.

    ``kind`` is ``'activity'`` or ``'workflow'`` (a child workflow).  Every other option
    may be left out (None): SWF then applies the defaults registered with the type.
    Durations are whole seconds or ``'NONE'`` (no limit).

    Activities: ``heartbeat``, ``schedule_to_close``, ``schedule_to_start``,
    ``start_to_close``.  Child workflows: ``workflow_duration`` (the execution's
    start-to-close timeout; NONE is not allowed there), ``decision_duration`` (the
    decision tasks' start-to-close timeout) and ``child_policy`` (TERMINATE,
    REQUEST_CANCEL or ABANDON).  Both: ``task_list``.
    """

    __slots__ = ('kind', 'name', 'version', 'task_list', 'heartbeat', 'schedule_to_close',
                 'schedule_to_start', 'start_to_close', 'workflow_duration',
                 'decision_duration', 'child_policy', '_options')

    _ACTIVITY_ONLY = ('heartbeat', 'schedule_to_close', 'schedule_to_start', 'start_to_close')
    _WORKFLOW_ONLY = ('workflow_duration', 'decision_duration', 'child_policy')

    def __init__(self, kind, name, version, task_list=None, heartbeat=None,
                 schedule_to_close=None, schedule_to_start=None, start_to_close=None,
                 workflow_duration=None, decision_duration=None, child_policy=None):
        if kind not in (ACTIVITY, WORKFLOW):
            raise ValueError("kind must be 'activity' or 'workflow'; got %r" % (kind,))
        self.kind = kind
        self.name = check_name('name', name, MAX_ID_LENGTH)
        self.version = check_name('version', version, _MAX_VERSION)
        self.task_list = None if task_list is None else check_name('task_list', task_list,
                                                                  MAX_ID_LENGTH)
        self.heartbeat = check_duration('heartbeat', heartbeat)
        self.schedule_to_close = check_duration('schedule_to_close', schedule_to_close)
        self.schedule_to_start = check_duration('schedule_to_start', schedule_to_start)
        self.start_to_close = check_duration('start_to_close', start_to_close)
        self.workflow_duration = check_duration('workflow_duration', workflow_duration,
                                           allow_none=False, maximum=MAX_WORKFLOW_DURATION)
        self.decision_duration = check_duration('decision_duration', decision_duration)
        self.child_policy = check_child_policy(child_policy)
        other = self._WORKFLOW_ONLY if kind == ACTIVITY else self._ACTIVITY_ONLY
        for field in other:
            if getattr(self, field) is not None:
                raise ValueError('%s does not apply to %s %s; it is an option of %s'
                                 % (field, 'an activity' if kind == ACTIVITY else 'a workflow',
                                    self.name, 'workflows' if kind == ACTIVITY
                                    else 'activities'))
        if kind == ACTIVITY:
            options = (('heartbeatTimeout', self.heartbeat),
                       ('scheduleToCloseTimeout', self.schedule_to_close),
                       ('scheduleToStartTimeout', self.schedule_to_start),
                       ('startToCloseTimeout', self.start_to_close))
        else:
            options = (('executionStartToCloseTimeout', self.workflow_duration),
                       ('taskStartToCloseTimeout', self.decision_duration),
                       ('childPolicy', self.child_policy))
        self._options = tuple((name, value) for name, value in options if value is not None)

    def __repr__(self):
        shown = ''.join(' %s=%s' % (field, getattr(self, field)) for field in (
            ('task_list',) + self._ACTIVITY_ONLY + self._WORKFLOW_ONLY)
            if getattr(self, field) is not None)
        return '<TaskType %s %s %s%s>' % (self.kind, self.name, self.version, shown)

    def _attributes(self):
        """The optional attributes of a start decision: only what was set."""
        attributes = dict(self._options)
        if self.task_list is not None:
            attributes['taskList'] = {'name': self.task_list}
        return attributes
