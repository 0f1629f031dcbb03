"""Errors the user can fix: they name the file, the row or field, and the problem."""

from nascar_pipeline.core.errors import UserInputError


class SettingsError(UserInputError):
    """An environment variable has a value the pipeline cannot use; the message names it."""


__all__ = ["SettingsError", "UserInputError"]
