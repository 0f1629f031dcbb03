"""Errors the user can fix: they name the file, the row or field, and the problem."""


class UserInputError(ValueError):
    """Bad input from a user or an input file. The CLI prints it and exits 2."""


class SettingsError(UserInputError):
    """An environment variable has a value the pipeline cannot use; the message names it."""
