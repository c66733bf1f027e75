"""The warehouse: publish polars frames atomically to DuckDB or PostgreSQL and read them back.

    from cxdata.warehouse import Warehouse

    with Warehouse("duckdb:///.cxdata/warehouse.duckdb") as wh:
        wh.publish("stg_orders", orders)
        wh.read("stg_orders")

Publishing loads a staging table in bulk and swaps it in with one transaction,
applying the table and column comments of ``sql/<table>.sql``. Type mapping:
``cxdata.warehouse.types``; comment files: ``cxdata.warehouse.comments``.
"""

from cxdata.warehouse.core import PublishResult, Warehouse
from cxdata.warehouse.errors import WarehouseError

__all__ = ["PublishResult", "Warehouse", "WarehouseError"]
