"""What the Dagster UI's asset page for customer_scores shows, read through the UI's own GraphQL API.

The definitions are loaded as the webserver loads them (`pipelines.definitions:defs` with CXDATA_CONFIG) over
the Dagster instance of the shared materialised run, and the query asks what the asset page renders: owners,
group, checks, and the column schema of the latest materialisation with each column's description.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from cxdata.warehouse import Warehouse
from pipelines.project import CONFIG_ENV

REPO = Path(__file__).resolve().parents[2]
ASSET_PAGE = """
query AssetPage($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    __typename
    ... on AssetNode {
      groupName
      owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
      assetChecksOrError { ... on AssetChecks { checks { name description blocking } } }
      assetMaterializations(limit: 1) {
        metadataEntries {
          label
          ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
          ... on IntMetadataEntry { intValue }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def asset_page(materialised_on_duckdb):
    run = materialised_on_duckdb
    assert run.outcome.success, run.outcome.failures
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="pipelines.definitions", attribute="defs", working_directory=str(REPO)),
        location_name="cxdata",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONFIG_ENV, str(run.project.config_path))
        with (
            dg.DagsterInstance.from_config(run.dagster_home) as instance,
            WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process,
        ):
            result = execute_dagster_graphql(
                process.create_request_context(), ASSET_PAGE, {"path": ["customer_scores"]}
            )
    assert not result.errors, result.errors
    node = result.data["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    return node


def test_the_asset_page_lists_every_column_with_its_description(asset_page, materialised_on_duckdb):
    (latest,) = asset_page["assetMaterializations"]
    entries = {e["label"]: e for e in latest["metadataEntries"]}
    columns = {c["name"]: c for c in entries["dagster/column_schema"]["schema"]["columns"]}
    with Warehouse(materialised_on_duckdb.url) as wh:
        assert list(columns) == wh.columns("customer_scores")
        described = {name: text for name, text in wh.column_comments("customer_scores").items() if text}
        assert entries["dagster/row_count"]["intValue"] == wh.row_count("customer_scores") > 0
    assert {"clv", "churn_probability", "segment"} <= set(described)
    assert {name: columns[name]["description"] for name in described} == described
    assert all(c["type"] for c in columns.values())


def test_the_asset_page_names_its_owners_group_and_each_rule_check(asset_page):
    assert asset_page["groupName"] == "value"
    assert asset_page["owners"] == [{"team": "data"}]
    checks = {c["name"]: c for c in asset_page["assetChecksOrError"]["checks"]}
    # model usability and holdout error from the value step, the data rules from its quality suite
    assert {"clv_model_usable", "clv_holdout_error", "churn_model_trained", "churn_beats_btyd"} <= set(checks)
    assert {"keys", "not_null", "ranges", "row_count"} <= set(checks)
    assert all(c["description"] for c in checks.values())
    assert checks["keys"]["blocking"] and not checks["row_count"]["blocking"]
