"""Typed errors.  A user mistake raises one of these with a one-line message; the CLI exits 2 on them."""

from __future__ import annotations


class HdrkitError(Exception):
    """Base class of every error hdrkit raises for bad input (the CLI prints it and exits with code 2)."""

    def __init__(self, message: str):
        # Keep messages on one line: the CLI prints them as they are.
        super().__init__(" ".join(str(message).split()))


class InputError(HdrkitError):
    """Bad arguments or pixel values (wrong shape, NaN/Inf, out-of-range parameters, missing file)."""


class FormatError(HdrkitError):
    """A file that cannot be read or written: unknown extension, truncated, corrupt, unsupported layout."""


class MetadataError(HdrkitError):
    """Embedded metadata that is missing, corrupt (CRC) or of an unsupported version."""
