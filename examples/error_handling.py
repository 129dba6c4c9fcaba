"""A failing activity, handled inside the workflow and left unhandled.

``divide`` raises ZeroDivisionError for a zero divisor.  The first workflow catches
the failure with ``try/except TaskError`` and carries on; the second does not, so the
run itself raises TaskError.  Prints:

    handled: {'ratios': [5.0, None, 2.5], 'problems': ['divide-1-0 (3/0): ZeroDivisionError']}
    unhandled: TaskError: divide-1-0 failed: ZeroDivisionError: division by zero
"""

from flowy import LocalWorkflow, TaskError, wait


def divide(a, b):
    return a / b


class SafeRatios:
    """Divide every pair; a failed division becomes None and is reported."""

    def __init__(self, divide):
        self.divide = divide

    def __call__(self, pairs):
        results = [self.divide(a, b) for a, b in pairs]  # all start at once
        ratios, problems = [], []
        for (a, b), result in zip(pairs, results, strict=True):
            try:
                ratios.append(wait(result))
            except TaskError as error:
                ratios.append(None)
                problems.append(f'{error.key} ({a}/{b}): {error.type_name}')
        return {'ratios': ratios, 'problems': problems}


class TotalOfRatios:
    """Add the ratios up without handling errors: one failure fails the workflow."""

    def __init__(self, divide):
        self.divide = divide

    def __call__(self, pairs):
        return sum(self.divide(a, b) for a, b in pairs)


if __name__ == '__main__':
    pairs = [(10, 2), (3, 0), (5, 2)]

    safe = LocalWorkflow(SafeRatios)
    safe.conf_activity('divide', divide)
    print('handled:', safe.run(pairs))

    total = LocalWorkflow(TotalOfRatios)
    total.conf_activity('divide', divide)
    try:
        total.run(pairs)
    except TaskError as error:
        print(f'unhandled: TaskError: {error}')
