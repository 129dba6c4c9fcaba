"""What goes wrong on the command line, by exit status."""

from ...errors import FlowyError

__all__ = ['CommandLineError', 'CommandError']


class CommandLineError(FlowyError):
    """The command line asks for something impossible (exit status 2)."""


class CommandError(FlowyError):
    """The command failed (exit status 1)."""
