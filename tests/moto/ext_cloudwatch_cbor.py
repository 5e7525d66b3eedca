"""moto extension: CloudWatch GetMetricData over the Smithy RPC v2 CBOR protocol.

The AWS SDK for Rust (aws-sdk-cloudwatch 1.1xx) speaks CloudWatch's newest protocol,
`smithy-rpc-v2-cbor`: `POST /service/GraniteServiceVersion20100801/operation/<Operation>` with
a CBOR body, header `smithy-protocol: rpc-v2-cbor`, and a CBOR response carrying the same
header. moto (5.2.x) only speaks the query and JSON protocols for CloudWatch, so requests from
drctl would come back as XML the SDK cannot parse.

This module answers exactly the CloudWatch operations drctl's adapters use, GetMetricData and
DescribeAlarms,
in that protocol, by decoding the request and calling moto's own CloudWatch backend: the data
is whatever a boto3 PutMetricData (query protocol, which moto does speak) stored. Any other
operation in CBOR is refused with an error, loudly, rather than half-emulated.

Protocol details (Smithy RPC v2 CBOR specification):
* Timestamps are CBOR tag 1 (epoch seconds); cbor2 decodes them to aware datetimes.
* Errors are a CBOR map with `__type` (the shape id) and `message`, with a 4xx/5xx status.
* The region comes from the SigV4 credential scope of the Authorization header.
"""

from __future__ import annotations

import re
from datetime import timezone
from typing import Any, Callable, Iterable

import cbor2
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server import werkzeug_app

PATH = re.compile(r"^/service/GraniteServiceVersion20100801/operation/(?P<operation>\w+)$")
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/monitoring/")
SHAPE_PREFIX = "com.amazonaws.cloudwatch#"


class ProtocolError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def get_metric_data(region: str, request: dict[str, Any]) -> dict[str, Any]:
    queries = request.get("MetricDataQueries") or []
    for query in queries:
        if "MetricStat" not in query and "Expression" not in query:
            raise ProtocolError(
                400, "InvalidParameterValue", "MetricDataQueries: MetricStat or Expression is required"
            )
    try:
        start = request["StartTime"]
        end = request["EndTime"]
    except KeyError as missing:
        raise ProtocolError(400, "MissingParameter", f"{missing.args[0]} is required") from None
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
    # moto stores timestamps as naive UTC (checked with moto 5.2.5): compare like with like.
    results = backend.get_metric_data(
        queries=queries,
        start_time=start.astimezone(timezone.utc).replace(tzinfo=None),
        end_time=end.astimezone(timezone.utc).replace(tzinfo=None),
        scan_by=request.get("ScanBy") or "TimestampDescending",
    )
    return {
        "MetricDataResults": [
            {
                "Id": r["id"],
                "Label": r["label"],
                # Naive UTC: `timezone=` in _respond encodes them as such.
                "Timestamps": r["timestamps"],
                "Values": [float(v) for v in r["values"]],
                "StatusCode": r["status_code"],
            }
            for r in results
        ],
        "Messages": [],
    }


def describe_alarms(region: str, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeAlarms by AlarmNames (the witnesses of automatic failover): metric alarms, and
    composite ones (moto keeps both in one table, a composite one with a `rule`)."""
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
    names = request.get("AlarmNames") or []
    alarms = list(backend.get_alarms_by_alarm_names(names)) if names else list(backend.describe_alarms())
    def shape(alarm: Any) -> dict[str, Any]:
        return {"AlarmName": alarm.name, "AlarmArn": alarm.alarm_arn, "StateValue": alarm.state_value}
    return {
        "MetricAlarms": [shape(a) for a in alarms if not getattr(a, "rule", None)],
        "CompositeAlarms": [shape(a) for a in alarms if getattr(a, "rule", None)],
    }


OPERATIONS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "GetMetricData": get_metric_data,
    "DescribeAlarms": describe_alarms,
}


def _respond(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> Iterable[bytes]:
    payload = cbor2.dumps(body, datetime_as_timestamp=True, timezone=timezone.utc)
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


def handle(environ: dict[str, Any], start_response: Callable[..., Any], operation: str) -> Iterable[bytes]:
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise ProtocolError(400, "UnknownOperationException", f"{operation} is not emulated in CBOR")
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:
            raise ProtocolError(400, "IncompleteSignature", "no SigV4 credential scope for monitoring")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        request = cbor2.loads(raw) if raw else {}
        if not isinstance(request, dict):
            raise ProtocolError(400, "SerializationException", "the body is not a CBOR map")
        return _respond(start_response, 200, handler(scope.group("region"), request))
    except ProtocolError as err:
        return _respond(start_response, err.status, {"__type": SHAPE_PREFIX + err.code, "message": err.message})
    except Exception as err:  # moto's own validation errors carry a code
        code = getattr(err, "code", None)
        if isinstance(code, str):
            message = getattr(err, "message", None) or str(err)
            return _respond(start_response, 400, {"__type": SHAPE_PREFIX + code, "message": message})
        raise


def install() -> None:
    dispatcher = werkzeug_app.DomainDispatcherApplication
    plain_call = dispatcher.__call__

    def call(self, environ, start_response):  # type: ignore[no-untyped-def]
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match and environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
            return handle(environ, start_response, match.group("operation"))
        return plain_call(self, environ, start_response)

    dispatcher.__call__ = call  # type: ignore[method-assign]


install()
