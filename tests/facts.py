"""Fact tables of a generated project keyed by the true person: `cxdata.synth.facts.person_facts`, under the
name the tests import."""

from __future__ import annotations

from cxdata.synth.facts import person_facts

__all__ = ["person_facts"]
