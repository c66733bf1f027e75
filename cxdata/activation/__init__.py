"""Activation: segment membership history and change-only syncs of segments to named destinations (see
docs/design.md §7 and §10.11)."""
