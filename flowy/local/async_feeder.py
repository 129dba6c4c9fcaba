"""``async def`` activities: run on one asyncio event loop, in a thread of its own.

Thousands of such calls wait at once (on the network, a database) without a thread
each.  The engine hands calls over in batches (one wake-up of the loop per batch) and
takes their outcomes in batches too.  A call that times out or is cancelled has its
asyncio task cancelled: unlike a thread, a coroutine can be stopped where it awaits.
:func:`flowy.heartbeat` and :func:`flowy.context` work inside the coroutines.
"""

import asyncio
import collections
import contextvars
import inspect
import threading

from ..errors import exception_text
from ..heartbeat import encode_details, reporting
from ..run_context import running
from .feeder import Outcomes, answer_heartbeat, call_context

__all__ = ['AsyncFeeder', 'is_async']

#: Seconds the engine waits for the loop's thread to end when the run ends.
STOP_TIMEOUT = 10


def is_async(func):
    """True for an activity written as ``async def`` (a coroutine function)."""
    return inspect.iscoroutinefunction(func)


class AsyncFeeder(Outcomes):
    """The asyncio loop of one engine and the coroutine calls on it."""

    def __init__(self, engine):
        super().__init__(engine)
        self.calls = collections.deque()  # (run, key, func, transport, input, attempt)
        self.tasks = {}  # (run, key) -> the asyncio task of a call that has started
        self.calls_of = {}  # asyncio task -> its call, for heartbeats and context()
        self.waking = False  # a batch start is scheduled on the loop
        self.posted = False  # a take of outcomes is posted to the engine
        # One heartbeat reporter and one context for every call: each task runs in a
        # copy of this context, and they look up the task they are asked from.
        self.context = contextvars.Context()
        self.context.run(reporting(self._beat).__enter__)
        self.context.run(running(self._context).__enter__)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name='flowy-async', daemon=True)
        self.thread.start()

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _call(self):
        return self.calls_of.get(asyncio.current_task())

    def _beat(self, details=None):
        encode_details(details)
        return answer_heartbeat(self._call())

    def _context(self):
        call = self._call()
        return None if call is None else call_context(call[0], call[1])

    # -- from the engine's loop -------------------------------------------------------

    def submit(self, run, key, func, transport, input_data, attempt=None):
        self.calls.append((run, key, func, transport, input_data, attempt))
        if not self.waking:
            self.waking = True
            self.loop.call_soon_threadsafe(self._start_calls)

    def stop(self, run, key):
        """Cancel call ``key`` of ``run``: True if it was queued or running (no outcome
        will come for it)."""
        calls = self.calls
        for index, call in enumerate(calls):
            if call[1] == key and call[0] is run:
                del calls[index]
                return True
        task = self.tasks.pop((run, key), None)
        if task is None:
            return False
        self.loop.call_soon_threadsafe(task.cancel)
        return True

    def close(self, wait=False):
        """End the loop: its calls are cancelled, or awaited first with ``wait``."""
        self.calls.clear()

        async def finish():
            pending = [task for task in asyncio.all_tasks() if task is not current()]
            if not wait:
                for task in pending:
                    task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        def current():
            return asyncio.current_task()

        if self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(finish(), self.loop)
            try:
                future.result(None if wait else STOP_TIMEOUT)
            except Exception:  # a loop that does not stop must not hang the run's end
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()

    # -- on the asyncio loop --------------------------------------------------------------

    def _start_calls(self):
        self.waking = False
        calls, tasks, calls_of = self.calls, self.tasks, self.calls_of
        create, context = self.loop.create_task, self.context
        while calls:
            call = calls.popleft()
            task = tasks[(call[0], call[1])] = create(self._run(call), context=context.copy())
            calls_of[task] = call

    async def _run(self, call):
        run, key, func, transport, input_data, attempt = call
        if attempt is not None:
            attempt.stop = lambda: self.stop(run, key)
            attempt.begin()
        try:
            args, kwargs = transport.loads(input_data)
            value = await func(*args, **kwargs)
        except asyncio.CancelledError:
            self.calls_of.pop(asyncio.current_task(), None)
            return  # stopped: it timed out or was cancelled, nobody waits for it
        except BaseException as exc:
            outcome = (run, key, None, exc, attempt)
        else:
            try:
                outcome = (run, key, transport.dumps(value), None, attempt)
            except Exception as exc:
                error = TypeError('cannot serialize the result of %s: %s'
                                  % (key, exception_text(exc)))
                error.__cause__ = exc
                outcome = (run, key, None, error, attempt)
        self.calls_of.pop(asyncio.current_task(), None)
        self.tasks.pop((run, key), None)
        self.done.append(outcome)
        if not self.posted:
            self.posted = True
            self.engine.post(self._take)

    def _take(self):
        # On the engine's loop: every outcome that arrived since this was posted.
        self.posted = False
        self.take_done()
