"""Build spec.dependencies' S3 side in the moto emulator with boto3 (a client independent of
drctl), for tests/tests/aws_dependencies.rs.

Usage (the emulator is reached through the standard AWS environment, as fixture.py):

  python tests/moto/fixture_dependencies.py setup DOC

For every spec.dependencies.s3Replication entry: the source bucket in its region and the
destination bucket in the other region of spec.regions, both versioned, and one enabled
replication rule from source to destination with replication metrics on. For every
spec.dependencies.dynamodbGlobalTables entry: the table in its first region and a replica in
each other one (UpdateTable ReplicaUpdates; ext_dynamodb_replicas.py makes moto build them).
Prints {"buckets": [names], "tables": [names]}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3

ROLE = "arn:aws:iam::123456789012:role/s3-replication"


def create_bucket(name: str, region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def setup(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    created = []
    for dep in spec.get("dependencies", {}).get("s3Replication", []):
        source_region = dep["region"]
        other = [r for r in spec["regions"] if r != source_region][0]
        create_bucket(dep["bucket"], source_region)
        create_bucket(dep["destinationBucket"], other)
        boto3.client("s3", region_name=source_region).put_bucket_replication(
            Bucket=dep["bucket"],
            ReplicationConfiguration={
                "Role": ROLE,
                "Rules": [{
                    "ID": "all",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {
                        "Bucket": f"arn:aws:s3:::{dep['destinationBucket']}",
                        "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                    },
                }],
            },
        )
        created += [dep["bucket"], dep["destinationBucket"]]
    tables = []
    for dep in spec.get("dependencies", {}).get("dynamodbGlobalTables", []):
        create_global_table(dep["table"], dep["regions"])
        tables.append(dep["table"])
    return {"buckets": created, "tables": tables}


def create_global_table(name: str, regions: list[str]) -> None:
    first, others = regions[0], regions[1:]
    ddb = boto3.client("dynamodb", region_name=first)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.update_table(
        TableName=name,
        ReplicaUpdates=[{"Create": {"RegionName": r}} for r in others],
    )


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] != "setup":
        sys.exit("usage: fixture_dependencies.py setup DOC")
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    print(json.dumps(setup(doc)))


if __name__ == "__main__":
    main()
