"""Python types that plain JSON would lose, sent through an activity and back.

Values crossing a task boundary travel as tagged JSON: tuples, sets, frozensets,
bytes, UUIDs, dates, datetimes, timedeltas, Decimals and dicts with non-string keys
come back as the same types.  ``reschedule`` receives an event built from such values,
moves it, and returns it; the workflow returns the activity's answer.  Prints the
wire form of the event, then each field of the result with its type:

    on the wire: {"id":{"!u":"12345678123456781234567812345678"},"starts":{"!dt":...
    id: UUID('12345678-1234-5678-1234-567812345678') (UUID)
    starts: datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone(...)) (datetime)
    day: datetime.date(2024, 5, 1) (date)
    room: ('B', 2) (tuple)
    tags: {'moved', 'python', 'workflow'} (set)
    seats: {1: 19, 2: 17} (dict)
    price: Decimal('12.50') (Decimal)
    badge: b'\\x89PNG' (bytes)
"""

import datetime
import decimal
import uuid

from flowy import LocalWorkflow
from flowy.serialization import dumps


def reschedule(event, delay):
    # Every field arrives with its own type: datetime + timedelta works directly.
    moved = dict(event)
    moved['starts'] = event['starts'] + delay
    moved['tags'] = event['tags'] | {'moved'}
    moved['seats'] = {row: n - 1 for row, n in event['seats'].items()}
    return moved


class Reschedule:
    def __init__(self, reschedule):
        self.reschedule = reschedule

    def __call__(self, event, delay):
        return self.reschedule(event, delay)


if __name__ == '__main__':
    paris_summer = datetime.timezone(datetime.timedelta(hours=2))
    event = {
        'id': uuid.UUID('12345678-1234-5678-1234-567812345678'),
        'starts': datetime.datetime(2024, 5, 1, 10, 30, tzinfo=paris_summer),  # offset kept
        'day': datetime.date(2024, 5, 1),
        'room': ('B', 2),
        'tags': {'python', 'workflow'},
        'seats': {1: 20, 2: 18},  # int keys stay ints
        'price': decimal.Decimal('12.50'),
        'badge': b'\x89PNG',
    }
    print('on the wire:', dumps(event))

    w = LocalWorkflow(Reschedule)
    w.conf_activity('reschedule', reschedule)
    result = w.run(event, datetime.timedelta(hours=2))
    for name, value in result.items():
        shown = repr(value)
        if isinstance(value, set):  # in a stable order, whatever the hash seed
            shown = '{' + ', '.join(sorted(repr(item) for item in value)) + '}'
        print(f'{name}: {shown} ({type(value).__name__})')
