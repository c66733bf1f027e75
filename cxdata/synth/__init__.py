"""Synthetic multi-source cxdata projects with their ground truth.

>>> from cxdata.synth import SynthParams, generate_project      # doctest: +SKIP
>>> result = generate_project("demo", SynthParams(customers=2000, seed=0))  # doctest: +SKIP
>>> result.row_counts["orders"]                                  # doctest: +SKIP
"""

from cxdata.synth.params import Campaign, OrderChannel, PhoneCountry, SynthParams, TicketChannel
from cxdata.synth.simulate import Simulation, simulate
from cxdata.synth.writer import GeneratedProject, generate_project, project_config, write_project

__all__ = [
    "Campaign",
    "GeneratedProject",
    "OrderChannel",
    "PhoneCountry",
    "Simulation",
    "SynthParams",
    "TicketChannel",
    "generate_project",
    "project_config",
    "simulate",
    "write_project",
]
