"""A receiver of every flowy event, for tests: what was sent, by whom, with which fields."""

import threading

from flowy import events


class Recorder:
    """``with Recorder() as heard:`` keeps (event name, sender, fields) of every event sent
    in the block, from any thread."""

    def __init__(self):
        self.heard = []
        self.lock = threading.Lock()
        self.receivers = {name: self._receiver(name) for name in events.ALL}

    def __enter__(self):
        for name, signal in events.ALL.items():
            signal.connect(self.receivers[name])
        return self

    def __exit__(self, *exc_info):
        for name, signal in events.ALL.items():
            signal.disconnect(self.receivers[name])

    def _receiver(self, name):
        def receive(sender, **fields):
            with self.lock:
                self.heard.append((name, sender, fields))
        return receive

    def names(self, key=None):
        """The names of the events heard (of call ``key`` only, if given), in order."""
        return [name for name, _, fields in self.heard
                if key is None or fields.get('key') == key]

    def fields(self, name):
        """The fields of every ``name`` event heard, in order."""
        return [fields for heard, _, fields in self.heard if heard == name]

    def of_run(self, run_id, sender):
        """(name, fields) of the events ``sender`` sent about run ``run_id``."""
        return [(name, fields) for name, who, fields in self.heard
                if who == sender and fields['run_id'] == run_id]
