"""The phase jobs of a project as reconstructable jobs: what an executor running steps in other processes
(multiprocess, celery) rebuilds in each of them from the config path and the run's as_of."""

from __future__ import annotations

import os

import dagster as dg

from cxdata.config import ProjectConfig, load_config


def phase_job(config_path: str, job_name: str, as_of: str | None = None) -> dg.JobDefinition:
    """The phase job ``job_name`` of the project at ``config_path``, with the command line's ``as_of``."""
    from pipelines.definitions import build_definitions  # it imports pipelines.phases, which imports this

    return build_definitions(load_config(config_path), as_of=as_of).resolve_job_def(job_name)


def reconstructable_phase(config: ProjectConfig, job_name: str, as_of: str | None) -> dg.ReconstructableJob:
    """A pointer to `phase_job` that every step process follows to the same job (built here once, so a
    config that does not load fails in the caller)."""
    return dg.build_reconstructable_job(
        "pipelines.reconstruct",
        "phase_job",
        reconstructable_kwargs={"config_path": str(config.path), "job_name": job_name, "as_of": as_of},
        reconstructor_working_directory=os.getcwd(),
    )


def runs_out_of_process(config: ProjectConfig) -> bool:
    """Whether `cxdata run` hands its build phase to the configured executor: when the project runs in shards
    or names an executor other than in_process (`scale`); otherwise the phase runs in the calling process."""
    return config.scale.shards > 1 or config.scale.executor not in (None, "in_process")
