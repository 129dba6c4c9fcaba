"""A deadline: race a slow task against a timer with ``first``.

``first(call, sleep(seconds))`` is whichever finishes first; the timer's value is None.
The slow call is cancelled once the timer has won: its heartbeat answers True, so it
stops early instead of working for a result nobody will read.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from flowy import LocalWorkflow, cancel, first, heartbeat, sleep, wait


def forecast(city, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if heartbeat():
            print('forecast for %s stopped early' % city, flush=True)
            return None
        time.sleep(0.01)
    return '%s: sunny' % city


class Forecast:
    def __init__(self, forecast):
        self.forecast = forecast

    def __call__(self, city, work, limit):
        answer = self.forecast(city, work)
        winner = wait(first(answer, sleep(limit)))
        if winner is None:
            cancel(answer)
            return 'no forecast for %s within %g s' % (city, limit)
        return winner


def main():
    with LocalWorkflow(Forecast, executor=ThreadPoolExecutor) as workflow:
        workflow.conf_activity('forecast', forecast)
        print(workflow.run('Lisbon', 0.05, 2))
        print(workflow.run('Oslo', 5, 0.2))
        time.sleep(0.1)  # let the cancelled call print that it stopped


if __name__ == '__main__':
    main()
