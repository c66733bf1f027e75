"""The cx_alerts asset: a thin Dagster wrapper over alerts_step, wired after the scores and the facts."""

import datetime as dt

import dagster as dg
import polars as pl

from cxdata.config import load_config
from cxdata.warehouse import Warehouse
from pipelines import alerts
from pipelines.resources import ProjectResource, WarehouseResource

UTC = pl.Datetime("us", "UTC")


def test_asset_materialises_alerts_with_counts_in_metadata(tmp_path, monkeypatch):
    monkeypatch.delenv("CXDATA_ALERT_WEBHOOK_URL", raising=False)
    (tmp_path / "cxdata.yaml").write_text(
        f"name: a\nwarehouse: duckdb:///{tmp_path / 'wh.duckdb'}\nas_of: 2026-03-10\nsources:\n"
        "  orders: {path: orders.csv}\n  surveys: {path: surveys.csv}\n"
    )
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2026-01-01,3\n")
    (tmp_path / "surveys.csv").write_text("response_id,responded_at,kind,score\n1,2026-03-01,nps,0\n")
    config = load_config(tmp_path / "cxdata.yaml")
    with Warehouse(config.warehouse) as wh:
        wh.publish("customer_scores", pl.DataFrame({"customer_key": ["C1", "C2"], "clv": [900.0, 10.0]}))
        wh.publish(
            "fct_surveys",
            pl.DataFrame(
                {
                    "response_id": ["r1", "r2", "r3"],
                    "customer_key": ["C1", "C2", "C1"],
                    "kind": ["nps", "nps", "nps"],
                    "score": [2, 0, 9],
                    "responded_at": [dt.datetime(2026, 3, 9, 15, tzinfo=dt.UTC)] * 3,
                },
                schema_overrides={"responded_at": UTC},
            ),
        )
    (asset,) = alerts.assets(config)
    assert {dep.asset_key.to_user_string() for dep in asset.specs_by_key[dg.AssetKey("cx_alerts")].deps} == {
        "customer_scores",
        "fct_surveys",
    }
    project = ProjectResource(config_path=str(tmp_path / "cxdata.yaml"))
    result = dg.materialize(
        [asset], resources={"project": project, "warehouse": WarehouseResource(project=project)}
    )
    assert result.success
    (materialisation,) = result.asset_materializations_for_node("cx_alerts")
    assert materialisation.metadata["new_alerts"].value == 1  # C2 is below the 80th clv percentile
    assert materialisation.metadata["notifications"].value is False
    with Warehouse(config.warehouse) as wh:
        assert wh.read("cx_alerts")["alert_id"].to_list() == ["survey:r1"]


def test_no_asset_without_surveys_or_tickets(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2026-01-01,3\n")
    (tmp_path / "cxdata.yaml").write_text("name: a\nsources:\n  orders: {path: orders.csv}\n")
    assert alerts.assets(load_config(tmp_path / "cxdata.yaml")) == []
