"""Tests of the SWF engine's pure layer (history events in, SWF decisions out).

This directory is put on ``sys.path`` so that the helper module ``swf_events.py`` imports
by name under every import mode, as ``tests/semantics`` does for its helpers.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
