"""Errors a user can fix. The CLI prints their message as one line (traceback with --debug)."""


class UserError(Exception):
    """A problem with input, config or environment that the user can fix.

    The message names the value, key or path at fault and what to do about it.
    """


class ConfigError(UserError, ValueError):
    """A configuration file or flag is malformed, unknown or out of range."""


class InputError(UserError):
    """An input path is missing, unreadable or of the wrong kind."""
