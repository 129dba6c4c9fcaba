"""A polled decision task and the pages of its history.

SWF gives a decider the first page of a task's history with the poll; the others are
fetched with ``nextPageToken``.  :class:`Pages` keeps what was fetched and reads only
as many pages as a decision needs: all of them to rebuild a run, or, for a run the
decider keeps, just down to the last event it has already seen.  :class:`Paging` is the
decider's part that sizes the pages it asks for, fetches them (trying again after a
failure), and reads a whole history forward when its first page was small.
"""

import logging

from ..errors import FlowyError, exception_line
from .events import HistoryError, check_sequence, event_id

__all__ = ['DecisionTask', 'Pages', 'Paging', 'PagingError', 'Stopping', 'MAX_PAGE',
           'FIRST_PAGE_MIN', 'RECENT_TASKS']

MAX_PAGE = 1000  # SWF's largest maximumPageSize
FIRST_PAGE_MIN = 10  # the smallest first page a caching decider asks for
RECENT_TASKS = 8  # the first page holds what the largest of these last tasks brought

log = logging.getLogger('flowy.swf.decider')


class DecisionTask:
    """One polled decision task: the first response, and how to poll for its next pages.

    ``received``: when the poll returned it (on the decider's clock), which is when SWF
    started the task's start-to-close timeout.
    """

    __slots__ = ('response', 'domain', 'task_list', 'identity', 'reverse', 'received',
                 'page_size')

    def __init__(self, response, domain, task_list, identity=None, reverse=False,
                 received=None, page_size=None):
        self.response = response
        self.domain = domain
        self.task_list = task_list
        self.identity = identity
        self.reverse = reverse
        self.received = received
        self.page_size = page_size  # the maximumPageSize the poll asked for

    @property
    def token(self):
        return self.response['taskToken']

    @property
    def run(self):
        """``(workflowId, runId)`` of the execution."""
        execution = self.response.get('workflowExecution') or {}
        return execution.get('workflowId'), execution.get('runId')

    @property
    def type_key(self):
        """``(name, version)`` of the workflow type."""
        workflow_type = self.response.get('workflowType') or {}
        return workflow_type.get('name'), workflow_type.get('version')

    def __repr__(self):
        return '<DecisionTask %s/%s %s %s started=%s>' % (
            self.run + self.type_key + (self.response.get('startedEventId'),))


class PagingError(FlowyError):
    """The history of a decision task could not be read in full."""


class Stopping(PagingError):
    """The decider was stopped while it waited to fetch a page again."""


class Pages:
    """The event pages of one decision task: the first came with the poll."""

    def __init__(self, worker, client, task):
        self.worker = worker
        self.client = client
        self.task = task
        first = task.response.get('events') or []
        self.fetched = [first]
        self.token = task.response.get('nextPageToken')

    def next_page(self):
        """The events of the next page, or None when every page was fetched."""
        if not self.token:
            return None
        events, self.token = self.worker.fetch_page(self.client, self.task, self.token)
        self.fetched.append(events)
        return events

    @property
    def complete(self):
        """True once every page of the task has been fetched."""
        return not self.token

    def all_events(self):
        """Every event of the task, in event id order, pages merged (an event of two
        pages counts once)."""
        while self.next_page() is not None:
            pass
        events = {}
        for page in self.fetched:
            for event in page:
                events[event_id(event)] = event
        return [events[number] for number in sorted(events)]

    def events_after(self, last, started):
        """The events after ``last``, in order, reading no more pages than needed.

        None when they do not follow on from ``last`` (then read the whole history).
        Pages read newest first (the task's ``reverse``) are read only down to the first
        event already fed.
        """
        news, newest_first = {}, self.task.reverse
        events = self.fetched[0]
        while True:
            reached = False
            for event in events:
                number = event_id(event)
                if number > last:
                    news[number] = event
                else:
                    reached = True
                    if newest_first:
                        break  # the rest of the page is older still
            if reached:
                break
            events = self.next_page()
            if events is None:
                return None  # the history does not hold what was fed: it is not ours
        events = [news[number] for number in sorted(news) if not started or number <= started]
        try:
            check_sequence(events, last + 1, last=started or None)
        except HistoryError:
            return None
        return events


class Paging:
    """How a decider reads history pages: the part of
    :class:`~flowy.swf.decider.SWFWorkflowWorker` that sizes, fetches and retries them.

    It uses the worker's ``stats``, ``page_attempts``, ``page_retry_pause`` and
    ``_stop``, and keeps the first-page size a caching decider polls with.
    """

    def _observe(self, news):
        """A kept run's task brought ``news`` events: size the next first pages to fit.

        The first page holds what a decision task usually brings, with room to spare,
        and what the largest of the last few brought (answers held back bring more than
        the others): reading a few events too many costs less than another call.  A
        task that brings more reads another page or two.
        """
        self._news = 0.7 * self._news + 0.3 * news
        self._recent_news.append(news)
        self._first_page = max(FIRST_PAGE_MIN, min(MAX_PAGE, max(
            int(self._news * 2), max(self._recent_news)) + 4))

    def read_forward(self, client, task):
        """The history of ``task``'s run up to the task, read from the start in pages of
        1,000 (GetWorkflowExecutionHistory), for a run that must be read whole."""
        workflow_id, run_id = task.run
        started = task.response.get('startedEventId') or 0
        events, token = [], None
        while True:
            response = self._with_retries(
                task, lambda token=token: client.get_workflow_execution_history(
                    task.domain, workflow_id, run_id, next_page_token=token,
                    max_page_size=MAX_PAGE, reverse_order=False))
            page = response.get('events') or []
            self.stats['pages'] += 1
            self.stats['events'] += len(page)
            events.extend(page)
            token = response.get('nextPageToken')
            if not token or (started and page and event_id(page[-1]) >= started):
                return events

    def fetch_page(self, client, task, token):
        """``(events, next token)`` of the history page of ``task`` at ``token``.

        A failed fetch is tried again after a pause that doubles each time (``stop()``
        ends the wait); after ``page_attempts`` failures it raises PagingError.
        """
        response = self._with_retries(task, lambda: client.poll_for_decision_task(
            task.domain, task.task_list, identity=task.identity, next_page_token=token,
            max_page_size=task.page_size, reverse_order=task.reverse))
        events = response.get('events') or []
        self.stats['pages'] += 1
        self.stats['events'] += len(events)
        return events, response.get('nextPageToken')

    def _with_retries(self, task, fetch):
        """``fetch()``, tried again after a pause that doubles each time (``stop()`` ends
        the wait); after ``page_attempts`` failures it raises PagingError."""
        pause = self.page_retry_pause
        for attempt in range(1, self.page_attempts + 1):
            self.stats['api_calls'] += 1
            try:
                return fetch()
            except Exception as exc:
                if attempt == self.page_attempts:
                    raise PagingError('fetching a page of its history failed %d times: %s'
                                       % (attempt, exception_line(exc))) from exc
                log.warning('fetching a history page of %s/%s failed (try %d of %d); trying '
                            'again in %.1f s: %s', *task.run, attempt, self.page_attempts,
                            pause, exception_line(exc))
                if self._stop.wait(pause):
                    raise Stopping('the decider is stopping') from exc
                pause *= 2
        raise AssertionError('unreachable')  # pragma: no cover

    # -- handling a task ----------------------------------------------------------------
