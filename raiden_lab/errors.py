"""Errors a user can cause, each carrying the one line that tells them what to do."""

from __future__ import annotations


class RaidenError(Exception):
    """An expected failure: the message is a sentence for a person, never a traceback."""

    exit_code = 1


class InputError(RaidenError):
    """Bad input (inventory, arguments): exit code 2, nothing was changed."""

    exit_code = 2


class NotRunning(RaidenError):
    """A command for a running cluster (or class) when it is stopped: exit code 3, nothing was changed."""

    exit_code = 3


class NotFound(RaidenError):
    """A cluster, node, class or lesson that does not exist: the server answers 404 with the sentence."""
