"""moto extension: Route 53 Application Recovery Controller (ARC), which moto (5.2.x) lacks.

drctl's `routing: routingControl` calls three ARC operations, each emulated here on the wire
protocol the AWS SDKs speak, so the Rust adapters and boto3 (the independent fixture) both
talk to it:

* Control config (`route53-recovery-control-config`, restJson1): CreateCluster
  (`POST /cluster`), CreateControlPanel (`POST /controlpanel`), CreateRoutingControl
  (`POST /routingcontrol`) for the fixture, and DescribeCluster (`GET /cluster/{ClusterArn}`)
  for drctl. A cluster's five endpoints are this server itself, under `/arc/REGION/v1`, as
  ARC's are `https://HOST/v1` per region.
* Data plane (`route53-recovery-cluster`, awsJson1_0, target `ToggleCustomerAPI.*`):
  GetRoutingControlState and UpdateRoutingControlStates (every entry applied together, or
  none; ConflictException when the update would leave a control panel with no control On:
  the ATLEAST 1 ON safety rule that drctl's setup asks for).
* Route 53 health checks of type RECOVERY_CONTROL: moto drops `RoutingControlArn`; it is kept
  and returned by GetHealthCheck.

Requests are told apart by the service in the SigV4 credential scope. Anything else of ARC is
refused loudly (UnknownOperationException), never half-emulated.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from moto.moto_server import werkzeug_app
from moto.route53 import models as route53_models
from moto.route53.responses import Route53 as Route53Response

ACCOUNT = "123456789012"
ENDPOINT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2"]
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/")

CLUSTERS: dict[str, dict[str, Any]] = {}
PANELS: dict[str, dict[str, Any]] = {}
# Routing control ARN -> {"Name", "ControlPanelArn", "State"}.
CONTROLS: dict[str, dict[str, Any]] = {}


class ArcError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _new_id() -> str:
    return uuid.uuid4().hex


def _respond(start_response: Callable[..., Any], status: int, body: dict[str, Any], content_type: str,
             code: str | None = None) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
    if code:
        headers.append(("x-amzn-ErrorType", code))
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
    start_response(f"{status} {reason}", headers)
    return [payload]


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    return json.loads(raw) if raw else {}


# --- Control config ----------------------------------------------------------------------------

def create_cluster(host: str, body: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:route53-recovery-control::{ACCOUNT}:cluster/{_new_id()}"
    cluster = {
        "ClusterArn": arn,
        "Name": body.get("ClusterName", "cluster"),
        "Status": "DEPLOYED",
        "ClusterEndpoints": [
            {"Endpoint": f"http://{host}/arc/{region}/v1", "Region": region} for region in ENDPOINT_REGIONS
        ],
    }
    CLUSTERS[arn] = cluster
    return {"Cluster": cluster}


def create_control_panel(_host: str, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("ClusterArn") not in CLUSTERS:
        raise ArcError(404, "ResourceNotFoundException", f"cluster {body.get('ClusterArn')} does not exist")
    arn = f"arn:aws:route53-recovery-control::{ACCOUNT}:controlpanel/{_new_id()}"
    panel = {"ControlPanelArn": arn, "ClusterArn": body["ClusterArn"], "Name": body.get("ControlPanelName"),
             "Status": "DEPLOYED", "DefaultControlPanel": False, "RoutingControlCount": 0}
    PANELS[arn] = panel
    return {"ControlPanel": panel}


def create_routing_control(_host: str, body: dict[str, Any]) -> dict[str, Any]:
    panel = body.get("ControlPanelArn")
    if panel not in PANELS:
        raise ArcError(404, "ResourceNotFoundException", f"control panel {panel} does not exist")
    arn = f"{panel}/routingcontrol/{_new_id()[:16]}"
    CONTROLS[arn] = {"Name": body.get("RoutingControlName"), "ControlPanelArn": panel, "State": "Off"}
    return {"RoutingControl": {"RoutingControlArn": arn, "ControlPanelArn": panel,
                               "Name": body.get("RoutingControlName"), "Status": "DEPLOYED"}}


def describe_cluster(arn: str) -> dict[str, Any]:
    cluster = CLUSTERS.get(arn)
    if cluster is None:
        raise ArcError(404, "ResourceNotFoundException", f"cluster {arn} does not exist")
    return {"Cluster": cluster}


def handle_control_config(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    content_type = "application/json"
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    host = environ.get("HTTP_HOST", "127.0.0.1")
    creators = {"/cluster": create_cluster, "/controlpanel": create_control_panel,
                "/routingcontrol": create_routing_control}
    try:
        if method == "POST" and path in creators:
            return _respond(start_response, 200, creators[path](host, _body(environ)), content_type)
        if method == "GET" and path.startswith("/cluster/"):
            return _respond(start_response, 200, describe_cluster(unquote(path[len("/cluster/"):])), content_type)
        raise ArcError(400, "UnknownOperationException", f"{method} {path} is not emulated")
    except ArcError as err:
        return _respond(start_response, err.status, {"message": err.message}, content_type, err.code)


# --- Data plane --------------------------------------------------------------------------------

def get_routing_control_state(body: dict[str, Any]) -> dict[str, Any]:
    arn = body.get("RoutingControlArn")
    control = CONTROLS.get(arn)
    if control is None:
        raise ArcError(400, "ResourceNotFoundException", f"routing control {arn} does not exist")
    return {"RoutingControlArn": arn, "RoutingControlState": control["State"], "RoutingControlName": control["Name"]}


def update_routing_control_states(body: dict[str, Any]) -> dict[str, Any]:
    entries = body.get("UpdateRoutingControlStateEntries") or []
    after = {arn: c["State"] for arn, c in CONTROLS.items()}
    for entry in entries:
        arn = entry.get("RoutingControlArn")
        if arn not in CONTROLS:
            raise ArcError(400, "ResourceNotFoundException", f"routing control {arn} does not exist")
        if entry.get("RoutingControlState") not in ("On", "Off"):
            raise ArcError(400, "ValidationException", "RoutingControlState must be On or Off")
        after[arn] = entry["RoutingControlState"]
    touched = {CONTROLS[e["RoutingControlArn"]]["ControlPanelArn"] for e in entries}
    for panel in touched:
        if not any(s == "On" for arn, s in after.items() if CONTROLS[arn]["ControlPanelArn"] == panel):
            raise ArcError(409, "ConflictException",
                           f"the update would break safety rule ATLEAST 1 ON of control panel {panel}")
    for arn, state in after.items():
        CONTROLS[arn]["State"] = state
    return {}


DATA_PLANE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ToggleCustomerAPI.GetRoutingControlState": get_routing_control_state,
    "ToggleCustomerAPI.UpdateRoutingControlStates": update_routing_control_states,
}


def handle_data_plane(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    content_type = "application/x-amz-json-1.0"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    try:
        if not environ.get("PATH_INFO", "").startswith("/arc/"):
            raise ArcError(400, "UnknownOperationException", "not one of a cluster's endpoints")
        handler = DATA_PLANE.get(target)
        if handler is None:
            raise ArcError(400, "UnknownOperationException", f"{target} is not emulated")
        return _respond(start_response, 200, handler(_body(environ)), content_type)
    except ArcError as err:
        return _respond(start_response, err.status, {"__type": err.code, "message": err.message}, content_type,
                        err.code)


# --- Route 53 RECOVERY_CONTROL health checks ---------------------------------------------------

def keep_routing_control_arn() -> None:
    plain_config = route53_models.HealthCheck.health_check_config

    def health_check_config(self):  # type: ignore[no-untyped-def]
        config = plain_config.fget(self)  # type: ignore[attr-defined]
        arn = getattr(self, "routing_control_arn", None)
        if arn:
            config = {"Type": "RECOVERY_CONTROL", "RoutingControlArn": arn}
        return config

    route53_models.HealthCheck.health_check_config = property(health_check_config)  # type: ignore[assignment]
    plain_create = Route53Response.create_health_check

    def create_health_check(self):  # type: ignore[no-untyped-def]
        config = self._get_param("HealthCheckConfig") or {}
        result = plain_create(self)
        arn = config.get("RoutingControlArn")
        if arn:
            result.result["HealthCheck"].routing_control_arn = arn
        return result

    Route53Response.create_health_check = create_health_check  # type: ignore[method-assign]


def install() -> None:
    dispatcher = werkzeug_app.DomainDispatcherApplication
    plain_call = dispatcher.__call__

    def call(self, environ, start_response):  # type: ignore[no-untyped-def]
        scope = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group("service") if scope else ""
        if service == "route53-recovery-control-config":
            return handle_control_config(environ, start_response)
        if service == "route53-recovery-cluster":
            return handle_data_plane(environ, start_response)
        return plain_call(self, environ, start_response)

    dispatcher.__call__ = call  # type: ignore[method-assign]
    keep_routing_control_arn()


install()
