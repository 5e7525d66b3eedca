"""moto extension: DynamoDB global tables (version 2019.11.21) replicas.

moto 5.2.x accepts UpdateTable's ReplicaUpdates and ignores them: no replica table appears in
the other region and DescribeTable lists no `Replicas`. drctl's spec.dependencies reads a
global table with DescribeTable in each listed region and checks every other region is an
ACTIVE replica, so tests/tests/aws_dependencies.rs needs both halves:

* `ReplicaUpdates: [{Create: {RegionName}}]` creates the table (same keys, attributes and
  billing mode, no items: replication of items is not modelled) in that region, and every
  member of the global table lists every other member as an ACTIVE replica.
* `ReplicaUpdates: [{Delete: {RegionName}}]` deletes the table in that region and removes it
  from the others' lists, as AWS does once the deletion finishes.

Members are kept per (account, table name) in GLOBAL_TABLES; replica creation is immediate
(AWS takes minutes, which is the sim's business, not the wire test's).
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

# (account, table) -> the regions of its global table, the original's included.
GLOBAL_TABLES: dict[tuple[str, str], set[str]] = {}

_unpatched_describe = Table.describe
_unpatched_update_table = DynamoHandler.update_table


def _describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
    result = _unpatched_describe(self, base_key)
    members = GLOBAL_TABLES.get((self.account_id, self.name), set())
    others = sorted(r for r in members if r != self.region_name)
    if others:
        result[base_key]["Replicas"] = [
            {"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in others
        ]
    return result


def _create_replica(account: str, source: Table, region: str) -> None:
    backend = dynamodb_backends[account][region]
    if source.name in backend.tables:
        return
    backend.create_table(
        source.name,
        schema=source.schema,
        throughput=source.throughput,
        attr=source.attr,
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode=source.billing_mode,
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=None,
        warm_throughput=None,
    )


def _apply(account: str, region: str, name: str, updates: list[dict[str, Any]]) -> None:
    source = dynamodb_backends[account][region].get_table(name)
    members = GLOBAL_TABLES.setdefault((account, name), {region})
    for update in updates:
        if "Create" in update:
            target = update["Create"]["RegionName"]
            _create_replica(account, source, target)
            members.add(target)
        elif "Delete" in update:
            target = update["Delete"]["RegionName"]
            dynamodb_backends[account][target].tables.pop(name, None)
            members.discard(target)


def _update_table(self: DynamoHandler) -> Any:
    updates = self.body.get("ReplicaUpdates")
    if updates:
        _apply(self.current_account, self.region, self.body["TableName"], updates)
    return _unpatched_update_table(self)


Table.describe = _describe  # type: ignore[method-assign]
DynamoHandler.update_table = _update_table  # type: ignore[method-assign]
