"""Reading SWF history events safely: their ids, types and attributes, and their order.

Every history event boto3 returns is a dict with an ``eventId`` (1, 2, 3 ... in the
order SWF recorded them), an ``eventType`` and one ``<eventType>EventAttributes`` dict
(:func:`attributes_key`).  Events that break this, or lack an attribute flowy needs, or
hold one of another type, are not a history flowy can decide from:
:class:`HistoryError` says which event, of which type, and what is wrong with it.

:func:`check_sequence` is the one check of an event list's order: the decider runs it on
the events of a decision task, :meth:`~flowy.swf.decider.SWFWorkflowWorker.check_history`
on a recorded history.  :class:`MissingEvents` (a gap, or fewer events than expected) is
the kind of trouble that reading the pages again may cure; the other errors are not.
"""

from ..errors import FlowyError

__all__ = ['HistoryError', 'MissingEvents', 'attributes_key', 'event_id', 'event_type',
           'event_attributes', 'check_sequence', 'text', 'optional_text', 'number',
           'optional_number', 'mapping', 'text_list']


class HistoryError(FlowyError, ValueError):
    """The events do not make a consistent history (malformed, missing, or out of order)."""


class MissingEvents(HistoryError):
    """Events are missing from a history: a gap in the ids, or fewer than expected."""


class Malformed(HistoryError):
    """An attribute of the event being read is missing or of the wrong type.

    Raised by the readers below, which do not know the event; whoever reads the event
    turns it into a :class:`HistoryError` that names it (:func:`malformed`).
    """

    def __init__(self, name, problem):
        super().__init__('the attribute %s %s' % (name, problem))


_ATTRIBUTE_KEYS = {}


def attributes_key(kind):
    """``activityTaskScheduledEventAttributes`` for ``ActivityTaskScheduled``."""
    name = _ATTRIBUTE_KEYS.get(kind)
    if name is None:
        name = _ATTRIBUTE_KEYS[kind] = kind[:1].lower() + kind[1:] + 'EventAttributes'
    return name


def _shown(event):
    """How an event is named in an error, whatever state it is in."""
    if type(event) is not dict:
        return 'an event that is a %s, not a dict' % type(event).__name__
    return 'event %r (%s)' % (event.get('eventId', '?'), event.get('eventType', '?'))


def event_id(event):
    """The ``eventId`` of ``event``: an int from 1, else :class:`HistoryError`."""
    try:
        value = event['eventId']
    except (KeyError, TypeError):
        raise HistoryError('%s has no eventId' % _shown(event)) from None
    if type(value) is not int or value < 1:
        raise HistoryError('%s: its eventId %r is not a whole number from 1'
                           % (_shown(event), value))
    return value


def event_type(event):
    """The ``eventType`` of ``event`` (a non-empty str), else :class:`HistoryError`."""
    value = event.get('eventType')
    if type(value) is not str or not value:
        raise HistoryError('%s: its eventType %r is not the name of an event type'
                           % (_shown(event), value))
    return value


def event_attributes(event, kind, required=True):
    """The attributes dict of ``event`` of type ``kind``; {} when it has none and they
    are not ``required``; else :class:`HistoryError`."""
    key = attributes_key(kind)
    value = event.get(key)
    if type(value) is dict:
        return value
    if value is None and not required:
        return {}
    problem = 'is missing' if value is None else 'is a %s, not a dict' % type(value).__name__
    raise HistoryError('%s: %s %s' % (_shown(event), key, problem))


def malformed(event, error):
    """The :class:`HistoryError` for the :class:`Malformed` ``error`` found in ``event``."""
    return HistoryError('%s: %s' % (_shown(event), error))


def check_sequence(events, first=1, last=None):
    """Check that ``events`` are numbered ``first``, ``first + 1`` ... in order.

    ``last``: the id the list must end with (None: any).  Raises :class:`HistoryError`
    for an id repeated, out of order or not a number, and :class:`MissingEvents` for a
    gap or a list that ends early.
    """
    expected = first
    for event in events:
        found = event_id(event)
        if found < expected:
            raise HistoryError('%s comes after event %d: event ids must be in order, each '
                               'once' % (_shown(event), expected - 1))
        if found > expected:
            raise MissingEvents('%s follows event %d: %s missing'
                                % (_shown(event), expected - 1, _span(expected, found - 1)))
        expected += 1
    if last is not None and expected - 1 != last:
        raise MissingEvents('the history ends at event %d; it should reach event %d'
                            % (expected - 1, last))


def _span(first, last):
    if first == last:
        return 'event %d is' % first
    return 'events %d to %d are' % (first, last)


# -- attribute readers: each raises Malformed, naming the attribute --------------------------


def _wrong(name, value, wanted):
    return Malformed(name, 'is a %s, not %s' % (type(value).__name__, wanted))


def text(attributes, name):
    """The attribute ``name``: a non-empty str."""
    value = optional_text(attributes, name)
    if value is None:
        raise Malformed(name, 'is missing')
    if not value:
        raise Malformed(name, 'is empty')
    return value


def optional_text(attributes, name):
    """The attribute ``name``: a str, or None when it is missing."""
    value = attributes.get(name)
    if value is not None and type(value) is not str:
        raise _wrong(name, value, 'a string')
    return value


def number(attributes, name):
    """The attribute ``name``: an int (an event id)."""
    value = optional_number(attributes, name)
    if value is None:
        raise Malformed(name, 'is missing')
    return value


def optional_number(attributes, name):
    """The attribute ``name``: an int, or None when it is missing."""
    value = attributes.get(name)
    if value is not None and type(value) is not int:
        raise _wrong(name, value, 'a whole number')
    return value


def mapping(attributes, name, fields=(), required=False):
    """The attribute ``name``: a dict whose ``fields`` are strs if present (or {})."""
    value = attributes.get(name)
    if value is None:
        if required:
            raise Malformed(name, 'is missing')
        return {}
    if type(value) is not dict:
        raise _wrong(name, value, 'a dict')
    for field in fields:
        item = value.get(field)
        if item is None and required:
            raise Malformed('%s.%s' % (name, field), 'is missing')
        if item is not None and type(item) is not str:
            raise _wrong('%s.%s' % (name, field), item, 'a string')
    return value


def text_list(attributes, name):
    """The attribute ``name``: a list of strs (empty when it is missing)."""
    value = attributes.get(name)
    if value is None:
        return []
    if type(value) is not list:
        raise _wrong(name, value, 'a list')
    for item in value:
        if type(item) is not str:
            raise _wrong(name + '[]', item, 'a string')
    return list(value)
