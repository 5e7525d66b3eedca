"""moto extension: Aurora Global Database switchover and failover.

moto (5.2.x) has global clusters (CreateGlobalCluster, DescribeGlobalClusters,
RemoveFromGlobalCluster, CreateDBCluster with GlobalClusterIdentifier in another region) but
not the two actions drctl relies on. This module adds them to moto's RDS backend and registers
them on moto's RDS response class; tests/moto/serve.py imports it before the server starts.

Semantics (shared/reference/aws-facts.md, AWS API reference):

* SwitchoverGlobalCluster(GlobalClusterIdentifier, TargetDbClusterIdentifier) and
  FailoverGlobalCluster(..., AllowDataLoss, Switchover) are asynchronous. The call returns the
  global cluster with FailoverState {Status: pending, FromDbClusterArn, ToDbClusterArn,
  IsDataLossAllowed}. The operation completes once it has been *observed in flight* by at
  least MOTO_RDS_GLOBAL_OPERATION_DESCRIBES DescribeGlobalClusters calls (default 1) and
  MOTO_RDS_GLOBAL_OPERATION_SECONDS have passed (default 0). Describes made by the test
  fixture (User-Agent containing `drctl-fixture`) do not count, so inspecting the world in a
  test does not move it on. So a poller sees it in flight
  once, then done, deterministically; and a second operation sent before anyone looked is
  refused, as AWS refuses an operation while FailoverState is set.
* Completion flips IsWriter (old primary -> secondary, target -> primary) and keeps every
  member: after a managed failover Aurora re-adds the old primary as a secondary by itself.
* FailoverGlobalCluster without AllowDataLoss (or with Switchover=true) behaves as a
  switchover (FailoverState.IsDataLossAllowed false).
* Errors, with AWS's codes (HTTP status comes from the botocore model):
  GlobalClusterNotFoundFault (no such global cluster), DBClusterNotFoundFault (the target ARN
  or identifier names no cluster in any region), InvalidGlobalClusterStateFault (an operation
  is in flight; the target is not a member; the target is already the writer; members run
  different engine versions), InvalidDBClusterStateFault (target or current writer not
  `available`).

Gaps of moto's own global-cluster support that drctl's adapters hit, patched minimally:

* DescribeGlobalClusters ignores GlobalClusterIdentifier and never raises
  GlobalClusterNotFoundFault: it now filters and raises like AWS.
* DescribeGlobalClusters without an identifier returned every global cluster at once: it now
  pages like AWS, MaxRecords (20 to 100, default 100) per page in identifier order, with an
  opaque Marker for the next page.
* GlobalClusterMembers lacks SynchronizationStatus: secondaries report `connected`.
* GlobalCluster has no FailoverState: added (absent when nothing is in flight).
* DeleteDBCluster of a secondary in another region than the global cluster's home backend
  left it listed as a member: deleting a cluster now removes it from every global cluster.
* DeleteDBCluster kept the cluster's automated snapshots, so recreating a cluster of the same
  name within a minute failed: they are now deleted with the cluster, as Aurora does.
"""

from __future__ import annotations

import os
import time
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    InvalidDBClusterStateFault,
    RDSClientError,
)
from moto.rds.models import DBCluster, GlobalCluster, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

DESCRIBES_ENV = "MOTO_RDS_GLOBAL_OPERATION_DESCRIBES"
SECONDS_ENV = "MOTO_RDS_GLOBAL_OPERATION_SECONDS"
# Requests from tests/moto/fixture.py carry this in their User-Agent; they are not observations.
FIXTURE_USER_AGENT = "drctl-fixture"


class GlobalClusterNotFoundFault(RDSClientError):
    def __init__(self, identifier: str):
        super().__init__(
            "GlobalClusterNotFoundFault", f"Global cluster {identifier} not found."
        )


class InvalidGlobalClusterStateFault(RDSClientError):
    def __init__(self, message: str):
        super().__init__("InvalidGlobalClusterStateFault", message)


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# --- where things live ------------------------------------------------------------------------


def _loaded_backends(account_id: str) -> list[RDSBackend]:
    # Only regions that were touched: iterating the BackendDict would create every region.
    account = rds_backends[account_id]
    return [account[region] for region in list(account.keys())]


def _find_global_cluster(backend: RDSBackend, identifier: str) -> GlobalCluster:
    wanted = identifier.lower()
    for regional in _loaded_backends(backend.account_id):
        for gc in regional.global_clusters.values():
            if wanted in (gc.global_cluster_identifier, gc.global_cluster_arn.lower()):
                return gc
    raise GlobalClusterNotFoundFault(identifier)


def _find_cluster(backend: RDSBackend, identifier: str) -> DBCluster:
    """A cluster by ARN (any region) or by identifier (the caller's region)."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        if len(parts) >= 7:
            region, account, name = parts[3], parts[4], parts[6]
            regional = rds_backends[account].get(region) if account.isdigit() else None
            cluster = regional.clusters.get(name.lower()) if regional is not None else None
            if cluster is not None:
                return cluster
        raise DBClusterNotFoundError(identifier)
    cluster = backend.clusters.get(identifier.lower())
    if cluster is None:
        raise DBClusterNotFoundError(identifier)
    return cluster


# --- the in-flight operation -------------------------------------------------------------------


def _operation(gc: GlobalCluster) -> dict[str, Any] | None:
    return getattr(gc, "_drctl_operation", None)


def _settle(gc: GlobalCluster) -> None:
    """Complete the in-flight operation if it has been observed long enough."""
    op = _operation(gc)
    if op is None:
        return
    if op["observed"] < op["describes_needed"] or time.monotonic() < op["done_after"]:
        return
    for member in gc.members:
        member.is_writer = member.db_cluster_arn == op["to"]
    gc._drctl_operation = None


def _failover_state(self: GlobalCluster) -> dict[str, Any] | None:
    op = _operation(self)
    if op is None:
        return None
    return {
        "Status": op["status"],
        "FromDbClusterArn": op["from"],
        "ToDbClusterArn": op["to"],
        "IsDataLossAllowed": op["allow_data_loss"],
    }


GlobalCluster.failover_state = property(_failover_state)  # type: ignore[attr-defined]

_members_without_sync = GlobalCluster.global_cluster_members.fget  # type: ignore[attr-defined]


def _members_with_sync(self: GlobalCluster) -> list[dict[str, Any]]:
    members = _members_without_sync(self)
    for member in members:
        if not member["IsWriter"]:
            member["SynchronizationStatus"] = "connected"
    return members


GlobalCluster.global_cluster_members = property(_members_with_sync)  # type: ignore[assignment]


def _start_operation(
    backend: RDSBackend,
    global_cluster_identifier: str,
    target_identifier: str,
    allow_data_loss: bool,
) -> GlobalCluster:
    gc = _find_global_cluster(backend, global_cluster_identifier)
    _settle(gc)
    target = _find_cluster(backend, target_identifier)
    in_flight = _operation(gc)
    if in_flight is not None:
        raise InvalidGlobalClusterStateFault(
            f"Global cluster {gc.global_cluster_identifier} is currently "
            f"{in_flight['kind']}; wait until its FailoverState is cleared"
        )
    if target not in gc.members:
        raise InvalidGlobalClusterStateFault(
            f"The DB cluster {target.db_cluster_arn} is not a member of global cluster "
            f"{gc.global_cluster_identifier}"
        )
    writer = next((m for m in gc.members if m.is_writer), None)
    if writer is target:
        raise InvalidGlobalClusterStateFault(
            f"The DB cluster {target.db_cluster_arn} is already the primary cluster of "
            f"global cluster {gc.global_cluster_identifier}"
        )
    if target.status != "available":
        raise InvalidDBClusterStateFault(
            f"DB cluster {target.db_cluster_identifier} is in {target.status} state"
        )
    if not allow_data_loss and writer is not None and writer.status != "available":
        # A switchover needs every region healthy (it waits for the target to be synced).
        raise InvalidDBClusterStateFault(
            f"The primary DB cluster {writer.db_cluster_identifier} is in {writer.status} state"
        )
    if writer is not None and writer.engine_version != target.engine_version:
        raise InvalidGlobalClusterStateFault(
            f"The DB clusters of global cluster {gc.global_cluster_identifier} run different "
            f"engine versions ({writer.engine_version}, {target.engine_version})"
        )
    kind = "failing-over" if allow_data_loss else "switching-over"
    gc._drctl_operation = {
        "kind": kind,
        # AWS reports `pending` first, then failing-over / switching-over.
        "status": "pending",
        "from": writer.db_cluster_arn if writer is not None else None,
        "to": target.db_cluster_arn,
        "allow_data_loss": allow_data_loss,
        "observed": 0,
        "describes_needed": _int_env(DESCRIBES_ENV, 1),
        "done_after": time.monotonic() + _int_env(SECONDS_ENV, 0),
    }
    return gc


def switchover_global_cluster(
    self: RDSBackend, global_cluster_identifier: str, target_db_cluster_identifier: str
) -> GlobalCluster:
    return _start_operation(
        self, global_cluster_identifier, target_db_cluster_identifier, False
    )


def failover_global_cluster(
    self: RDSBackend,
    global_cluster_identifier: str,
    target_db_cluster_identifier: str,
    allow_data_loss: bool,
    switchover: bool,
) -> GlobalCluster:
    # Without AllowDataLoss (or with Switchover=true) a failover is a switchover.
    data_loss = bool(allow_data_loss) and not bool(switchover)
    return _start_operation(
        self, global_cluster_identifier, target_db_cluster_identifier, data_loss
    )


RDSBackend.switchover_global_cluster = switchover_global_cluster  # type: ignore[attr-defined]
RDSBackend.failover_global_cluster = failover_global_cluster  # type: ignore[attr-defined]


MARKER_PREFIX = "drctl-global-clusters-after:"


def _page_of_global_clusters(
    clusters: list[GlobalCluster], max_records: Any, marker: str | None
) -> tuple[list[GlobalCluster], str | None]:
    """One page of the account's global clusters, in identifier order, and the next Marker."""
    size = 100 if max_records is None else int(max_records)
    if not 20 <= size <= 100:
        raise RDSClientError(
            "InvalidParameterValue", f"Invalid value {size} for MaxRecords: must be between 20 and 100"
        )
    ordered = sorted(clusters, key=lambda gc: gc.global_cluster_identifier)
    if marker:
        if not marker.startswith(MARKER_PREFIX):
            raise RDSClientError("InvalidParameterValue", f"Invalid Marker: {marker}")
        after = marker[len(MARKER_PREFIX) :]
        ordered = [gc for gc in ordered if gc.global_cluster_identifier > after]
    page = ordered[:size]
    more = len(ordered) > size
    return page, (MARKER_PREFIX + page[-1].global_cluster_identifier) if more else None


def _describe_global_clusters(self: RDSResponse) -> ActionResult:
    identifier = self.params.get("GlobalClusterIdentifier")
    next_marker = None
    if identifier:
        clusters = [_find_global_cluster(self.backend, identifier)]
    else:
        clusters, next_marker = _page_of_global_clusters(
            [gc for b in _loaded_backends(self.current_account) for gc in b.global_clusters.values()],
            self.params.get("MaxRecords"),
            self.params.get("Marker"),
        )
    # The test fixture's own inspections (tests/moto/fixture.py) must not move the world on.
    fixture = FIXTURE_USER_AGENT in self.headers.get("User-Agent", "")
    for gc in clusters:
        # Observing the operation is what lets it complete (see the module docstring).
        op = _operation(gc)
        if op is not None:
            _settle(gc)
            op = _operation(gc)
            if op is not None and not fixture:
                op["status"] = op["kind"]
                op["observed"] += 1
    result: dict[str, Any] = {"GlobalClusters": clusters}
    if next_marker is not None:
        result["Marker"] = next_marker
    return ActionResult(result)


def _switchover_response(self: RDSResponse) -> ActionResult:
    gc = self.backend.switchover_global_cluster(
        global_cluster_identifier=self.params["GlobalClusterIdentifier"],
        target_db_cluster_identifier=self.params["TargetDbClusterIdentifier"],
    )
    return ActionResult({"GlobalCluster": gc})


def _failover_response(self: RDSResponse) -> ActionResult:
    gc = self.backend.failover_global_cluster(
        global_cluster_identifier=self.params["GlobalClusterIdentifier"],
        target_db_cluster_identifier=self.params["TargetDbClusterIdentifier"],
        allow_data_loss=self.params.get("AllowDataLoss", False),
        switchover=self.params.get("Switchover", False),
    )
    return ActionResult({"GlobalCluster": gc})


RDSResponse.describe_global_clusters = _describe_global_clusters  # type: ignore[method-assign]
RDSResponse.switchover_global_cluster = _switchover_response  # type: ignore[attr-defined]
RDSResponse.failover_global_cluster = _failover_response  # type: ignore[attr-defined]

_delete_db_cluster = RDSBackend.delete_db_cluster


def _delete_db_cluster_leaving_globals(
    self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None
) -> DBCluster:
    cluster = _delete_db_cluster(self, cluster_identifier, snapshot_name)
    for regional in _loaded_backends(self.account_id):
        for gc in regional.global_clusters.values():
            if cluster in gc.members:
                gc.members.remove(cluster)
    # Aurora deletes a cluster's automated backups with it; moto kept them, so a cluster
    # recreated under the same name within the minute collided with its predecessor's
    # `rds:<id>-<minute>` snapshot (DBClusterSnapshotAlreadyExistsFault) half-way through
    # CreateDBCluster, leaving it outside its global cluster.
    for snapshot_id, snapshot in list(self.cluster_snapshots.items()):
        if snapshot.snapshot_type == "automated" and snapshot.db_cluster_identifier == cluster_identifier:
            del self.cluster_snapshots[snapshot_id]
    return cluster


RDSBackend.delete_db_cluster = _delete_db_cluster_leaving_globals  # type: ignore[method-assign]
