"""The Amazon SWF engine: run flowy workflows on Simple Workflow Service through boto3.

Its layers, from the outside in:

* :mod:`flowy.swf.config`: the decorator configs that name, version and time
  activity and workflow types, and register them on SWF;
* :mod:`flowy.swf.decider` and :mod:`flowy.swf.activity`: the two workers, over the
  poll loop of :mod:`flowy.swf.worker` and the boto3 wrapper of :mod:`flowy.swf.client`;
  the decider reads a task's history pages through :mod:`flowy.swf.pages`;
* :mod:`flowy.swf.starter`, :mod:`flowy.swf.control` and :mod:`flowy.swf.status`:
  start executions, signal, cancel or terminate them, read how they ended (and
  :mod:`flowy.swf.notes`: their markers and signals);
* :mod:`flowy.swf.cli`: the ``flowy`` command;
* the pure layer, which needs no boto3: :mod:`flowy.swf.history` reads SWF history
  events (checked by :mod:`flowy.swf.events`) into a :class:`flowy.history.History`,
  page by page; :mod:`flowy.swf.decisions` makes the SWF decisions of a
  :class:`flowy.decision.Decision` (:mod:`flowy.swf.effects` those of timers, markers
  and cancellations, whose events :mod:`flowy.swf.effect_events` reads) and
  :mod:`flowy.swf.packer` packs them into responses within SWF's limits;
  :mod:`flowy.swf.types` checks task types, names and durations, and
  :mod:`flowy.swf.names` names what the decider starts;
  :mod:`flowy.swf.payload` moves values too large for SWF to a payload store.

Importing this package never imports boto3; a client does, when it is first used.
"""

from .activity import SWFActivityWorker
from .client import SWFClient
from .config import SWFActivityConfig, SWFRegistrationError, SWFWorkflowConfig
from .control import SWFExecutions, UnknownExecution
from .decider import SWFWorkflowWorker
from .payload import InMemoryPayloadStore, PayloadStore, PayloadTooLarge, S3PayloadStore
from .starter import SWFWorkflowStarter

__all__ = ['SWFActivityConfig', 'SWFWorkflowConfig', 'SWFActivityWorker', 'SWFWorkflowWorker',
           'SWFWorkflowStarter', 'SWFClient', 'SWFRegistrationError', 'PayloadStore',
           'S3PayloadStore', 'InMemoryPayloadStore', 'PayloadTooLarge', 'SWFExecutions',
           'UnknownExecution']
