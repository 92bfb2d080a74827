"""The one failure kind every command reports the same way."""


class UserError(Exception):
    """Something the person running the command can fix; printed as one sentence, without a traceback."""
