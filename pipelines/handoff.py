"""The IO manager of the steps inside a sharded asset: their outputs go through the warehouse.

A run in customer shards (`scale.shards` > 1) splits the value and touchpoint assets into steps that the
executor may run in separate processes or on celery workers elsewhere (`pipelines.shard_graphs`); the
warehouse is the one store they all reach, so each step's output is stored there (`cxdata.handoffs`) under
its Dagster identifier (run, step, output), and a re-execution from a failed step reads the earlier run's.
"""

from __future__ import annotations

import resource
from typing import Any

import dagster as dg

from cxdata import handoffs
from pipelines.resources import WarehouseResource

KEY = "shard_handoff"


class HandoffIOManager(dg.ConfigurableIOManager):
    """Stores each output in the project's warehouse (``shard_handoffs``) and loads it back by its identifier."""

    warehouse: WarehouseResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        with self.warehouse.get() as wh:
            size = handoffs.put(wh, _key(context), obj)
        # each step is a process of its own on these executors: its peak is the step's (Linux reports kB)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        context.add_output_metadata(
            {"handoff_bytes": dg.MetadataValue.int(size), "step_peak_rss_mb": dg.MetadataValue.float(peak)}
        )

    def load_input(self, context: dg.InputContext) -> Any:
        with self.warehouse.get() as wh:
            return handoffs.get(wh, _key(context.upstream_output))


def _key(context: dg.OutputContext | None) -> tuple[str, str, str]:
    assert context is not None and context.run_id is not None and context.step_key is not None
    return context.run_id, context.step_key, context.name
