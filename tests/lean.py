"""Lighter model settings for tests that run whole projects: one CLV penalizer, fewer cutoffs, trees and
touchpoint replicates. The fits are most of a small whole run's time; these tests check what runs publish
and how, while the models' accuracy has tests of its own at full settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def lean(config_path: Path, **sections: Any) -> None:
    """Rewrite the project config at ``config_path`` with the lighter model settings, and ``sections`` (a
    top-level key and its value, such as ``scale={"shards": 3}``) set as given."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    models = config.setdefault("models", {})
    models.setdefault("clv", {}).update(penalizers=[0.01], boosted={"cutoffs": 3, "max_iter": 60})
    models.setdefault("churn", {}).update(cutoffs=2, max_iter=60, importance_repeats=1)
    models.setdefault("touchpoints", {}).update(bootstrap_replicates=20, placebo_sets=2)
    config.update(sections)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
