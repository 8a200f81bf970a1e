"""Errors a user can fix. The CLI prints their message as one line (traceback with --debug)."""


class UserError(Exception):
    """A problem with input, config or environment that the user can fix.

    The message names the value, key or path at fault and what to do about it.
    """


class ConfigError(UserError, ValueError):
    """A configuration file or flag is malformed, unknown or out of range."""


class InputError(UserError):
    """An input path is missing, unreadable or of the wrong kind."""


def worker_error_line(message: str) -> str | None:
    """The last line of a Python traceback inside a Spark error, e.g. `FileFailed: while reading
    s3://.../x.warc.gz: ValueError: ...`: the error itself, which Spark's first line
    ("An exception was thrown from the Python worker") does not say."""
    if "Traceback (most recent call last)" not in message:
        return None
    lines = message.split("Traceback (most recent call last)", 1)[1].splitlines()
    errors = [line.strip() for line in lines if line.strip() and not line[:1].isspace()]
    if not errors:
        return None
    name, colon, text = errors[-1].partition(":")
    return name.rsplit(".", 1)[-1] + colon + text  # dataflow.extract.records.FileFailed -> FileFailed
