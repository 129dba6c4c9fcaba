"""Sphinx configuration for the flowy documentation.

Build with:  sphinx-build -W -b html docs docs/_build/html
"""

import os
import sys

sys.path.insert(0, os.path.abspath('..'))

import flowy

project = 'flowy'
author = 'the flowy contributors'
copyright = author
version = release = flowy.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.viewcode',
]

master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'

autodoc_member_order = 'bysource'

html_theme = 'alabaster'
html_title = f'flowy {release}'
