"""The markers and signals of a run, for people (``flowy status``).

:func:`run_notes` reads a run's history and lists its markers (``flowy.marker()``,
``flowy.now()``, and flowy's own: ``flowy.call_failed``, ``flowy.cancelled``) and the
signals it received, in history order, each with its values decoded with the
transport when it can be (else the text SWF holds).
"""

from ..config import check_transport
from .effects import read_marker
from .events import attributes_key
from .payload import decode_field
from .status import history_events

__all__ = ['Note', 'run_notes']


class Note:
    """One marker or signal: ``kind`` (``'marker'`` or ``'signal'``), ``name``, ``value``
    (decoded; for flowy's own markers, the details), ``key`` (a body marker's key, such as
    ``@marker-0``, else None) and ``time`` (the event's timestamp)."""

    __slots__ = ('kind', 'name', 'value', 'key', 'time')

    def __init__(self, kind, name, value, key=None, time=None):
        self.kind = kind
        self.name = name
        self.value = value
        self.key = key
        self.time = time

    def to_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self):
        return '<Note %s %s=%r>' % (self.kind, self.name, self.value)


def _decoded(text, transport, store, what):
    try:
        text = decode_field(text, store, what)
        return transport.loads(text) if text is not None else None
    except Exception:
        return text


def notes_of(events, transport=None, payload_store=None):
    """The :class:`Note` list of ``events`` (one run's history, oldest first)."""
    transport = check_transport(transport)
    notes = []
    for event in events:
        kind = event.get('eventType')
        if kind not in ('MarkerRecorded', 'WorkflowExecutionSignaled'):
            continue
        attributes = event.get(attributes_key(kind)) or {}
        stamp = event.get('eventTimestamp')
        if kind == 'WorkflowExecutionSignaled':
            name = attributes.get('signalName')
            notes.append(Note('signal', name, _decoded(attributes.get('input'), transport,
                                                       payload_store, 'signal %s' % name),
                              time=stamp))
            continue
        name, details = attributes.get('markerName'), attributes.get('details')
        found = read_marker(details)
        if found is not None and found[2] is not None:
            key, _, value = found
            notes.append(Note('marker', name, _decoded(value, transport, payload_store,
                                                       'marker %s' % name), key, stamp))
        else:
            notes.append(Note('marker', name, details, time=stamp))
    return notes


def run_notes(swf_client, domain, workflow_id, run_id, transport=None, payload_store=None):
    """The markers and signals of one run (reads its whole history)."""
    return notes_of(history_events(swf_client, domain, workflow_id, run_id), transport,
                    payload_store)
