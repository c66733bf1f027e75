"""`cxdata check`: what a run would load and quarantine from every source, read from a sample, without a warehouse.

Each configured source is read as a run reads it, its first ``sample`` records per file (or of the query),
mapped onto the contract and put through the row rules; nothing is written. A structural problem (a missing
file or column, an unreadable file, an unreachable database) is reported for its source and the others are
still checked. A rule that needs every row (duplicate ids) sees only the sample.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cxdata.config import ProjectConfig
from cxdata.errors import IngestError
from cxdata.io.staging import stage_table
from cxdata.validate.hints import hints
from cxdata.validate.quarantine import by_rule, samples, share

DEFAULT_SAMPLE = 10_000


@dataclass(frozen=True)
class SourceCheck:
    """One source's sample: records read, blank lines, accepted and quarantined rows (by rule, examples), hints,
    the table's quarantine limit, or the error that stops its load."""

    table: str
    source: str
    limit: float
    records: int = 0
    blank_lines: int = 0
    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def share(self) -> float:
        """The quarantined share of the sample."""
        return share(self.records, self.quarantined)

    @property
    def passed(self) -> bool:
        """Readable, and its quarantined share within the table's limit (a run would load it)."""
        return self.error is None and self.share <= self.limit


def check_sources(config: ProjectConfig, sample: int = DEFAULT_SAMPLE) -> list[SourceCheck]:
    """Every configured source's `SourceCheck`, in the config's order."""
    now = dt.datetime.now(dt.UTC)
    checks = []
    for table, source in config.sources.items():
        limit = config.validation.quarantine_limit(table)
        try:
            staged = stage_table(config, table, loaded_at=now, sample=sample)
        except IngestError as exc:
            checks.append(SourceCheck(table, source.label, limit, error=str(exc)))
            continue
        held = staged.quarantined
        checks.append(
            SourceCheck(
                table,
                source.label,
                limit,
                records=int(staged.audit["rows_in"]),
                blank_lines=int(staged.audit["blank_lines"]),
                quarantined=held.height,
                by_rule=by_rule(held),
                examples=samples(held),
                hints=hints(table, held),
            )
        )
    return checks
