"""Errors cxdata raises at its edges: each carries a message a user can act on."""

from __future__ import annotations


class CxdataError(Exception):
    """Base of every error cxdata raises on purpose; the message is meant for a user."""


class ConfigError(CxdataError):
    """The project config is wrong: the message names the file, key and value."""


class OutputError(CxdataError):
    """A file cannot be written where asked: the message names the path and why."""


class IngestError(CxdataError):
    """A source cannot be read as the contract needs: names source, column and sample values."""


class QuarantineError(CxdataError):
    """Too many rows of one table failed the row rules; they are published in ``quarantine_<table>``.

    ``report`` carries what the step published (a `cxdata.io.step.StageReport`), so an
    orchestrator can show counts and samples beside the message.
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class PrivacyError(CxdataError):
    """An erasure or suppression cannot be done as asked: the message says why and what to set."""
