"""Errors the user can fix: they name the file, the row or field, and the problem.

Defined in core, the bottom layer, so that pure domain code (steering, validation) can raise
them; `nascar_pipeline.errors` re-exports them for every other layer."""


class UserInputError(ValueError):
    """Bad input from a user or an input file. The CLI prints it and exits 2."""
