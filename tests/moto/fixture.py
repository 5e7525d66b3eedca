"""Build and inspect a FailoverGroup's AWS world in the moto emulator, with boto3: a client
independent of drctl, so tests check drctl's effects with something drctl did not write.

Usage (the emulator is reached through the standard AWS environment, e.g. the variables of
tests/src/moto.rs `MotoServer::env()`; AWS_ENDPOINT_URL is honoured by boto3 itself):

  python tests/moto/fixture.py setup   DOC [--writer REGION] [--lag-ms N]
  python tests/moto/fixture.py inspect DOC --zone ZONE_ID
  python tests/moto/fixture.py detach  DOC --region REGION
  python tests/moto/fixture.py put-lag DOC --lag-ms N [--writer REGION]
  python tests/moto/fixture.py add-records DOC --zone ZONE_ID --count N
  python tests/moto/fixture.py add-globals DOC --count N
  python tests/moto/fixture.py put-cluster-lag DOC --cluster ID --secondary REGION --lag-ms N

DOC is a FailoverGroup document (YAML or JSON, e.g. examples/failovergroup.yaml) or `-`.
Every command prints one JSON object on stdout.

`setup` creates everything the spec names: the global cluster, one member cluster per region
(the writer first, so it is the primary) with `instanceCount` instances named
`<cluster>-<n>`, the hosted zone with the record pointing at the DNS owner's target, the ECS
clusters and services (active counts in the DNS owner's region, standby elsewhere), their
scalable targets, and an `AuroraGlobalDBRPOLag` datapoint. moto chooses hosted zone ids
itself, so `setup` prints the document with `spec.dns.hostedZoneId` replaced: apply that one.
Output: {"hostedZoneId", "document", "clusterArns": {region: arn}}.

`inspect` reports what is there: writer region, members, FailoverState, cluster status and
instances, the record, services, scalable targets, snapshots per region. Its requests carry
the `drctl-fixture` user agent, which tests/moto/ext_rds_global.py does not count as an
observation of an in-flight switchover, so inspecting never moves the world on.

`detach` removes a region's cluster from the global cluster (RemoveFromGlobalCluster), as an
operator or a failed rejoin would: the stale-secondary failback path.

The fleet commands fill the account the way a fleet of groups would: `add-records` creates
N CNAME records `fleet-<n>.<zone>` (value `fleet-<n>.origin.example.net`) in the zone,
`add-globals` creates N more global clusters `fleet-global-<n>` without members (in the
writer's region), and `put-cluster-lag` publishes one AuroraGlobalDBRPOLag datapoint for any
cluster and secondary region, from the writer's region. Output: what was created.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

USER_AGENT = "drctl-fixture"
MASTER_USERNAME = "drctl"
MASTER_PASSWORD = "fixture-password-1"
TASK_FAMILY = "drctl-fixture"


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=Config(user_agent_extra=USER_AGENT))


def load_document(path: str) -> dict[str, Any]:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import yaml  # moto[server] depends on PyYAML

        return yaml.safe_load(text)


def dns_owner(spec: dict[str, Any], writer: str) -> str:
    return spec.get("dnsOwner") or writer


def other_regions(spec: dict[str, Any], region: str) -> list[str]:
    return [r for r in spec["regions"] if r != region]


# --- setup ---------------------------------------------------------------------------------


def create_database(spec: dict[str, Any], writer: str) -> dict[str, str]:
    db = spec["database"]
    gid = db["globalClusterIdentifier"]
    clusters = db["clusters"]
    first = clusters[writer]
    client("rds", writer).create_global_cluster(
        GlobalClusterIdentifier=gid,
        Engine=first.get("engine", "aurora-postgresql"),
        EngineVersion=first.get("engineVersion", "16.3"),
    )
    arns = {}
    # The writer's cluster joins first: moto (like AWS) makes the first member the primary.
    for region in [writer] + other_regions(spec, writer):
        template = clusters[region]
        rds = client("rds", region)
        kwargs: dict[str, Any] = {
            "DBClusterIdentifier": template["identifier"],
            "Engine": template.get("engine", "aurora-postgresql"),
            "EngineVersion": template.get("engineVersion", "16.3"),
            "GlobalClusterIdentifier": gid,
        }
        if region == writer:
            kwargs.update(MasterUsername=MASTER_USERNAME, MasterUserPassword=MASTER_PASSWORD)
        if template.get("kmsKeyId"):
            kwargs.update(KmsKeyId=template["kmsKeyId"], StorageEncrypted=True)
        cluster = rds.create_db_cluster(**kwargs)["DBCluster"]
        arns[region] = cluster["DBClusterArn"]
        for n in range(1, int(template.get("instanceCount", 1)) + 1):
            rds.create_db_instance(
                DBInstanceIdentifier=f"{template['identifier']}-{n}",
                DBClusterIdentifier=template["identifier"],
                DBInstanceClass=template.get("instanceClass", "db.r6g.large"),
                Engine=kwargs["Engine"],
            )
    return arns


def record_for(spec: dict[str, Any], region: str) -> dict[str, Any]:
    dns = spec["dns"]
    target = dns["targets"][region]
    record: dict[str, Any] = {"Name": dns["recordName"], "Type": dns.get("recordType", "A")}
    if record["Type"] == "A":
        record["AliasTarget"] = {
            "DNSName": target["aliasDnsName"],
            "HostedZoneId": target["aliasHostedZoneId"],
            "EvaluateTargetHealth": False,
        }
    else:
        record["TTL"] = dns.get("ttl", 60)
        record["ResourceRecords"] = [{"Value": target["value"]}]
    return record


def create_dns(spec: dict[str, Any], owner: str) -> str:
    route53 = client("route53", "us-east-1")
    zone_name = spec["dns"]["recordName"].rstrip(".").split(".", 1)[-1] + "."
    zone = route53.create_hosted_zone(
        Name=zone_name, CallerReference=f"drctl-fixture-{datetime.now(timezone.utc).timestamp()}"
    )["HostedZone"]
    zone_id = zone["Id"].split("/")[-1]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record_for(spec, owner)}]},
    )
    return zone_id


def create_compute(spec: dict[str, Any], owner: str) -> None:
    services = spec.get("compute", {}).get("services", [])
    made_clusters: set[tuple[str, str]] = set()
    task_definitions: dict[str, str] = {}
    for service in services:
        for region, ref in service["regions"].items():
            ecs = client("ecs", region)
            if (region, ref["cluster"]) not in made_clusters:
                ecs.create_cluster(clusterName=ref["cluster"])
                made_clusters.add((region, ref["cluster"]))
            if region not in task_definitions:
                task_definitions[region] = ecs.register_task_definition(
                    family=TASK_FAMILY,
                    containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}],
                )["taskDefinition"]["taskDefinitionArn"]
            capacity = service["active"] if region == owner else service["standby"]
            ecs.create_service(
                cluster=ref["cluster"],
                serviceName=ref["service"],
                taskDefinition=task_definitions[region],
                desiredCount=capacity["desired"],
            )
            # moto starts services with no running tasks; an UpdateService makes its
            # runningCount follow desiredCount, as a settled service's does.
            ecs.update_service(
                cluster=ref["cluster"], service=ref["service"], desiredCount=capacity["desired"]
            )
            client("application-autoscaling", region).register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=f"service/{ref['cluster']}/{ref['service']}",
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=capacity["min"],
                MaxCapacity=capacity["max"],
            )


def put_lag(spec: dict[str, Any], writer: str, lag_ms: float) -> None:
    primary = spec["database"]["clusters"][writer]["identifier"]
    cloudwatch = client("cloudwatch", writer)
    for secondary in other_regions(spec, writer):
        cloudwatch.put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[
                {
                    "MetricName": "AuroraGlobalDBRPOLag",
                    "Dimensions": [
                        {"Name": "DBClusterIdentifier", "Value": primary},
                        {"Name": "SecondaryRegion", "Value": secondary},
                    ],
                    "Timestamp": datetime.now(timezone.utc),
                    "Value": lag_ms,
                    "Unit": "Milliseconds",
                }
            ],
        )


def cmd_setup(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    writer = args.writer or spec["writer"]
    owner = dns_owner(spec, writer) if args.writer is None else writer
    arns = create_database(spec, writer)
    zone_id = create_dns(spec, owner)
    create_compute(spec, owner)
    put_lag(spec, writer, args.lag_ms)
    spec["dns"]["hostedZoneId"] = zone_id
    return {"hostedZoneId": zone_id, "document": doc, "clusterArns": arns}


# --- inspect -------------------------------------------------------------------------------


def region_of_arn(arn: str) -> str:
    return arn.split(":")[3]


def inspect_database(spec: dict[str, Any]) -> dict[str, Any]:
    db = spec["database"]
    out: dict[str, Any] = {"globalCluster": None, "writer": None, "clusters": {}, "snapshots": {}}
    try:
        gc = client("rds", spec["regions"][0]).describe_global_clusters(
            GlobalClusterIdentifier=db["globalClusterIdentifier"]
        )["GlobalClusters"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "GlobalClusterNotFoundFault":
            raise
        gc = []
    if gc:
        g = gc[0]
        members = [
            {
                "region": region_of_arn(m["DBClusterArn"]),
                "arn": m["DBClusterArn"],
                "isWriter": m["IsWriter"],
                "synchronizationStatus": m.get("SynchronizationStatus"),
            }
            for m in g.get("GlobalClusterMembers", [])
        ]
        out["globalCluster"] = {"members": members, "failoverState": g.get("FailoverState")}
        out["writer"] = next((m["region"] for m in members if m["isWriter"]), None)
    for region, template in db["clusters"].items():
        rds = client("rds", region)
        try:
            c = rds.describe_db_clusters(DBClusterIdentifier=template["identifier"])["DBClusters"][0]
            out["clusters"][region] = {
                "identifier": c["DBClusterIdentifier"],
                "arn": c["DBClusterArn"],
                # Unlike the ARN (built from the name), new for a cluster recreated under
                # the same name: what tells "deleted and recreated" from "left alone".
                "resourceId": c["DbClusterResourceId"],
                "status": c["Status"],
                "engineVersion": c.get("EngineVersion"),
                "deletionProtection": c.get("DeletionProtection", False),
                "instances": sorted(m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", [])),
            }
        except ClientError as err:
            if err.response["Error"]["Code"] != "DBClusterNotFoundFault":
                raise
            out["clusters"][region] = None
        out["snapshots"][region] = [
            {
                "id": s["DBClusterSnapshotIdentifier"],
                "cluster": s["DBClusterIdentifier"],
                "type": s["SnapshotType"],
                "status": s["Status"],
            }
            for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        ]
    return out


def inspect_dns(spec: dict[str, Any], zone_id: str) -> dict[str, Any]:
    dns = spec["dns"]
    name = dns["recordName"].lower()
    if not name.endswith("."):
        name += "."
    sets = client("route53", "us-east-1").list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType=dns.get("recordType", "A")
    )["ResourceRecordSets"]
    record = next(
        (s for s in sets if s["Name"].lower() == name and s["Type"] == dns.get("recordType", "A")),
        None,
    )
    owner = None
    if record is not None:
        for region, target in dns["targets"].items():
            alias = record.get("AliasTarget")
            if alias and alias["DNSName"].rstrip(".") == target.get("aliasDnsName", "").rstrip("."):
                owner = region
            values = [v["Value"] for v in record.get("ResourceRecords", [])]
            if target.get("value") and target["value"] in values:
                owner = region
    return {"record": record, "dnsOwner": owner}


def inspect_compute(spec: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for service in spec.get("compute", {}).get("services", []):
        services[service["name"]] = {}
        targets[service["name"]] = {}
        for region, ref in service["regions"].items():
            described = client("ecs", region).describe_services(
                cluster=ref["cluster"], services=[ref["service"]]
            )["services"]
            services[service["name"]][region] = (
                {
                    "desired": described[0]["desiredCount"],
                    "running": described[0]["runningCount"],
                    "status": described[0]["status"],
                }
                if described
                else None
            )
            found = client("application-autoscaling", region).describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[f"service/{ref['cluster']}/{ref['service']}"],
            )["ScalableTargets"]
            targets[service["name"]][region] = (
                {"min": found[0]["MinCapacity"], "max": found[0]["MaxCapacity"]} if found else None
            )
    return {"services": services, "scalableTargets": targets}


def cmd_inspect(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    out = inspect_database(spec)
    out.update(inspect_dns(spec, args.zone))
    out.update(inspect_compute(spec))
    return out


def cmd_detach(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    db = spec["database"]
    cluster = db["clusters"][args.region]["identifier"]
    arn = client("rds", args.region).describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0][
        "DBClusterArn"
    ]
    client("rds", args.region).remove_from_global_cluster(
        GlobalClusterIdentifier=db["globalClusterIdentifier"], DbClusterIdentifier=arn
    )
    return {"detached": arn}


def cmd_put_lag(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    writer = args.writer or spec["writer"]
    put_lag(spec, writer, args.lag_ms)
    return {"writer": writer, "lagMs": args.lag_ms}


def cmd_add_records(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    route53 = client("route53", "us-east-1")
    zone_name = route53.get_hosted_zone(Id=args.zone)["HostedZone"]["Name"]
    names = [f"fleet-{n:04d}.{zone_name}" for n in range(args.count)]
    # CREATE counts each value once against the 1,000 ResourceRecord elements of a batch.
    for start in range(0, len(names), 500):
        changes = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": name,
                    "Type": "CNAME",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": name.split(".")[0] + ".origin.example.net"}],
                },
            }
            for name in names[start : start + 500]
        ]
        route53.change_resource_record_sets(HostedZoneId=args.zone, ChangeBatch={"Changes": changes})
    return {"records": names}


def cmd_add_globals(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = doc["spec"]
    rds = client("rds", spec["writer"])
    ids = [f"fleet-global-{n:04d}" for n in range(args.count)]
    for gid in ids:
        rds.create_global_cluster(GlobalClusterIdentifier=gid, Engine="aurora-postgresql", EngineVersion="16.3")
    return {"globalClusters": ids}


def cmd_put_cluster_lag(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    region = doc["spec"]["writer"]
    client("cloudwatch", region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "AuroraGlobalDBRPOLag",
                "Dimensions": [
                    {"Name": "DBClusterIdentifier", "Value": args.cluster},
                    {"Name": "SecondaryRegion", "Value": args.secondary},
                ],
                "Timestamp": datetime.now(timezone.utc),
                "Value": args.lag_ms,
                "Unit": "Milliseconds",
            }
        ],
    )
    return {"region": region, "cluster": args.cluster, "secondary": args.secondary, "lagMs": args.lag_ms}


def cmd_put_alarm(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A witness alarm of automatic failover, in its region, forced into `state`."""
    cloudwatch = client("cloudwatch", args.region)
    cloudwatch.put_metric_alarm(
        AlarmName=args.name,
        Namespace="CloudWatchSynthetics",
        MetricName="SuccessPercent",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90.0,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=args.name, StateValue=args.state, StateReason="fixture")
    return {"region": args.region, "name": args.name, "state": args.state}


def arc_endpoint_client(endpoint: dict[str, str]) -> Any:
    return boto3.client(
        "route53-recovery-cluster",
        region_name=endpoint["Region"],
        endpoint_url=endpoint["Endpoint"],
        config=Config(user_agent_extra=USER_AGENT),
    )


def cmd_arc_setup(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The routingControl setup of docs/deployment.md, made with boto3 (tests/moto/ext_arc.py
    emulates ARC): cluster, control panel, one routing control per region (the DNS owner's On),
    RECOVERY_CONTROL health checks, and the PRIMARY/SECONDARY failover pair in a new zone."""
    spec = doc["spec"]
    owner = dns_owner(spec, spec["writer"])
    config = client("route53-recovery-control-config", "us-west-2")
    cluster = config.create_cluster(ClusterName=doc["metadata"]["name"])["Cluster"]
    panel = config.create_control_panel(ClusterArn=cluster["ClusterArn"], ControlPanelName="drctl")["ControlPanel"]
    controls = {}
    for region in spec["regions"]:
        controls[region] = config.create_routing_control(
            ClusterArn=cluster["ClusterArn"], ControlPanelArn=panel["ControlPanelArn"], RoutingControlName=region
        )["RoutingControl"]["RoutingControlArn"]
    arc_endpoint_client(cluster["ClusterEndpoints"][1]).update_routing_control_states(
        UpdateRoutingControlStateEntries=[
            {"RoutingControlArn": arn, "RoutingControlState": "On" if region == owner else "Off"}
            for region, arn in controls.items()
        ]
    )
    route53 = client("route53", "us-east-1")
    zone_name = spec["dns"]["recordName"].rstrip(".").split(".", 1)[-1] + "."
    zone_id = route53.create_hosted_zone(
        Name=zone_name, CallerReference=f"drctl-arc-{datetime.now(timezone.utc).timestamp()}"
    )["HostedZone"]["Id"].split("/")[-1]
    changes = []
    for i, region in enumerate(spec["regions"]):
        check = route53.create_health_check(
            CallerReference=f"drctl-arc-{region}-{datetime.now(timezone.utc).timestamp()}",
            HealthCheckConfig={"Type": "RECOVERY_CONTROL", "RoutingControlArn": controls[region]},
        )["HealthCheck"]["Id"]
        record = record_for(spec, region)
        role = "PRIMARY" if i == 0 else "SECONDARY"
        record.update({"SetIdentifier": f"{region}-{role.lower()}", "Failover": role, "HealthCheckId": check})
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    spec["dns"]["hostedZoneId"] = zone_id
    spec["dns"]["routing"] = "routingControl"
    spec["dns"]["routingControl"] = {"clusterArn": cluster["ClusterArn"], "controls": controls}
    return {"document": doc, "hostedZoneId": zone_id, "endpoints": cluster["ClusterEndpoints"]}


def cmd_arc_states(doc: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Each region's routing control state, read by boto3 on the data plane."""
    rc = doc["spec"]["dns"]["routingControl"]
    cluster = client("route53-recovery-control-config", "us-west-2").describe_cluster(ClusterArn=rc["clusterArn"])
    data_plane = arc_endpoint_client(cluster["Cluster"]["ClusterEndpoints"][2])
    return {
        region: data_plane.get_routing_control_state(RoutingControlArn=arn)["RoutingControlState"]
        for region, arn in rc["controls"].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup")
    setup.add_argument("doc")
    setup.add_argument("--writer", help="region of the primary (default spec.writer)")
    setup.add_argument("--lag-ms", type=float, default=300.0)
    inspect = sub.add_parser("inspect")
    inspect.add_argument("doc")
    inspect.add_argument("--zone", required=True)
    detach = sub.add_parser("detach")
    detach.add_argument("doc")
    detach.add_argument("--region", required=True)
    lag = sub.add_parser("put-lag")
    lag.add_argument("doc")
    lag.add_argument("--lag-ms", type=float, required=True)
    lag.add_argument("--writer")
    records = sub.add_parser("add-records")
    records.add_argument("doc")
    records.add_argument("--zone", required=True)
    records.add_argument("--count", type=int, required=True)
    globals_ = sub.add_parser("add-globals")
    globals_.add_argument("doc")
    globals_.add_argument("--count", type=int, required=True)
    alarm = sub.add_parser("put-alarm")
    alarm.add_argument("doc")
    alarm.add_argument("--region", required=True)
    alarm.add_argument("--name", required=True)
    alarm.add_argument("--state", required=True, choices=["OK", "ALARM", "INSUFFICIENT_DATA"])
    cluster_lag = sub.add_parser("put-cluster-lag")
    cluster_lag.add_argument("doc")
    cluster_lag.add_argument("--cluster", required=True)
    cluster_lag.add_argument("--secondary", required=True)
    cluster_lag.add_argument("--lag-ms", type=float, required=True)
    arc_setup = sub.add_parser("arc-setup")
    arc_setup.add_argument("doc")
    arc_states = sub.add_parser("arc-states")
    arc_states.add_argument("doc")
    args = parser.parse_args()

    doc = load_document(args.doc)
    commands = {
        "setup": cmd_setup,
        "inspect": cmd_inspect,
        "detach": cmd_detach,
        "put-lag": cmd_put_lag,
        "add-records": cmd_add_records,
        "add-globals": cmd_add_globals,
        "put-cluster-lag": cmd_put_cluster_lag,
        "put-alarm": cmd_put_alarm,
        "arc-setup": cmd_arc_setup,
        "arc-states": cmd_arc_states,
    }
    result = commands[args.command](doc, args)
    json.dump(result, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
