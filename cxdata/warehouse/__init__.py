"""The warehouse: publish polars frames atomically to DuckDB or PostgreSQL and read them back.

    from cxdata.warehouse import Warehouse

    with Warehouse("duckdb:///.cxdata/warehouse.duckdb") as wh:
        wh.publish("stg_orders", orders)
        wh.read("stg_orders")

Publishing loads a staging table in bulk inside a transaction and swaps it in
when the transaction ends, applying the table and column comments of
``sql/<table>.sql``; ``wh.transaction()`` makes several tables and appends
visible together (``cxdata.warehouse.transaction``). Type mapping:
``cxdata.warehouse.types``; comment files: ``cxdata.warehouse.comments``.
"""

from cxdata.warehouse.core import PublishResult, Warehouse
from cxdata.warehouse.errors import WarehouseError

__all__ = ["PublishResult", "Warehouse", "WarehouseError"]
