"""The Amazon SWF engine: run flowy workflows on Simple Workflow Service through boto3.

This package is being built in layers.  The first one is pure and needs no boto3:

* :mod:`flowy.swf.history` reads SWF history events (as ``poll_for_decision_task``
  returns them) into a :class:`flowy.history.History`, page by page;
* :mod:`flowy.swf.decisions` turns a :class:`flowy.decision.Decision` into the SWF
  decisions of a ``respond_decision_task_completed`` call, within SWF's limits.

Nothing is exported here yet; the client, workers and starter come later.  Importing
this package must never import boto3: ``import flowy`` stays fast for local users.
"""
