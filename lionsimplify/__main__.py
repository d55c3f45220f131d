"""`python -m lionsimplify ...` runs the command line."""

from lionsimplify.cli import entry

entry()
