#!/usr/bin/env python3
"""boto3 fixture for spec.database.kind rdsReplica groups (the independent client that
builds and inspects the test world; fixture.py does the same for Aurora groups).

    fixture_rds.py setup DOC [--lag-seconds S]   primary in spec.writer, its cross-region
                                                 read replica, a ReplicaLag datapoint
    fixture_rds.py inspect DOC                   both instances and their manual snapshots

Prints one JSON object. The endpoint comes from AWS_ENDPOINT_URL, as for fixture.py.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from fixture import MASTER_PASSWORD, MASTER_USERNAME, client, load_document


def instances(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return spec["database"]["instances"]


def other(spec: dict[str, Any], region: str) -> str:
    return next(r for r in spec["regions"] if r != region)


def cmd_setup(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    writer = spec["writer"]
    standby = other(spec, writer)
    primary = instances(spec)[writer]
    replica = instances(spec)[standby]
    created = client("rds", writer).create_db_instance(
        DBInstanceIdentifier=primary["identifier"],
        Engine=primary.get("engine", "postgres"),
        EngineVersion=primary.get("engineVersion", "16.3"),
        DBInstanceClass=primary.get("instanceClass", "db.r6g.large"),
        AllocatedStorage=20,
        MasterUsername=MASTER_USERNAME,
        MasterUserPassword=MASTER_PASSWORD,
    )["DBInstance"]
    client("rds", standby).create_db_instance_read_replica(
        DBInstanceIdentifier=replica["identifier"],
        SourceDBInstanceIdentifier=created["DBInstanceArn"],
        DBInstanceClass=replica.get("instanceClass", "db.r6g.large"),
    )
    client("cloudwatch", standby).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": replica["identifier"]}],
                "Timestamp": datetime.now(timezone.utc),
                "Value": args.lag_seconds,
                "Unit": "Seconds",
            }
        ],
    )
    return {"primaryArn": created["DBInstanceArn"]}


def describe(region: str, identifier: str) -> dict[str, Any] | None:
    try:
        found = client("rds", region).describe_db_instances(DBInstanceIdentifier=identifier)
    except ClientError as e:
        if e.response["Error"]["Code"] in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
            return None
        raise
    i = found["DBInstances"][0]
    return {
        "status": i["DBInstanceStatus"],
        "arn": i["DBInstanceArn"],
        "source": i.get("ReadReplicaSourceDBInstanceIdentifier"),
    }


def cmd_inspect(doc: dict[str, Any], _: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for region, instance in instances(doc["spec"]).items():
        snapshots = client("rds", region).describe_db_snapshots(
            DBInstanceIdentifier=instance["identifier"], SnapshotType="manual"
        )["DBSnapshots"]
        out[region] = {
            "instance": describe(region, instance["identifier"]),
            "snapshots": sorted(s["DBSnapshotIdentifier"] for s in snapshots),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup")
    setup.add_argument("doc")
    setup.add_argument("--lag-seconds", type=float, default=0.42)
    inspect = sub.add_parser("inspect")
    inspect.add_argument("doc")
    args = parser.parse_args()
    doc = load_document(args.doc)
    run = {"setup": cmd_setup, "inspect": cmd_inspect}[args.command]
    print(json.dumps(run(doc, args)))


if __name__ == "__main__":
    main()
