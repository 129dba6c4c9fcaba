"""The activities of a run that wait on their task lists: scheduled, not started yet.

SWF records when each activity is scheduled (``ActivityTaskScheduled``, with the task
list it went to, the type's default when the decision named none) and when a worker
took it (``ActivityTaskStarted``).  In between it waits for a worker.  A run whose
activities wait has workers busier than it needs: work it schedules on that task list
now would only queue behind them.  :mod:`flowy.swf.holding` reads this to hold the
decider's answers back.
"""

from collections import Counter

__all__ = ['Backlog']


class Backlog:
    """Counts a run's activities waiting per task list, and the starts so far."""

    __slots__ = ('starts', '_waiting', '_per_list', '_lists')

    def __init__(self):
        self.starts = 0  # ActivityTaskStarted events so far
        self._waiting = {}  # eventId of ActivityTaskScheduled -> its task list
        self._per_list = Counter()
        self._lists = {}  # (type name, version) -> the task list of its latest schedule

    def __len__(self):
        return len(self._waiting)

    def scheduled(self, event_id, attributes):
        """The activity of ``ActivityTaskScheduled`` event ``event_id`` (its attributes)
        waits on its task list now."""
        task_list = _name(attributes.get('taskList'))
        self._waiting[event_id] = task_list
        self._per_list[task_list] += 1
        kind = attributes.get('activityType')
        if type(kind) is dict:
            self._lists[_text(kind.get('name')), _text(kind.get('version'))] = task_list

    def started(self, scheduled_event_id):
        self.starts += 1
        self.ended(scheduled_event_id)

    def ended(self, scheduled_event_id):
        """The activity scheduled by that event started or ended (it may end unstarted)."""
        task_list = self._waiting.pop(scheduled_event_id, self)
        if task_list is not self:
            self._per_list[task_list] -= 1

    def waiting_on(self, task_list):
        """How many of the run's activities wait on ``task_list``."""
        return self._per_list[task_list]

    def task_list_of(self, activity_type):
        """The task list SWF gave the latest activity of ``(name, version)``, or None."""
        return self._lists.get(activity_type)


def _name(value):
    return _text(value.get('name')) if type(value) is dict else None


def _text(value):
    # what the history checks elsewhere is not checked again here: odd values count as None
    return value if type(value) is str else None
