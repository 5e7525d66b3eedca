"""moto extension: Route 53 health checkers for GetHealthCheckStatus (`routing: healthCheck`).

moto (5.2.x) answers GetHealthCheckStatus with one fixed observation, "Success", whatever
the endpoint does, so a test cannot see a failover record's health check fail. Here the
checkers actually probe the endpoint of an HTTP, HTTPS-less HTTP or TCP health check whose
IPAddress is on loopback (127.0.0.0/8), at the moment of the call:

* HTTP: GET ResourcePath (Host: FullyQualifiedDomainName, else the address) with a 1 s
  timeout; a 2xx or 3xx answer is a success, as Route 53 counts it.
* TCP: a connection within 1 s is a success.

The answer carries one observation per checker, two in each of eight checker regions, as
Route 53 returns one per checker (drctl_cloud::route53_considers_healthy counts them against
its 18% threshold). All checkers see the same probe: no interval, no failure threshold, no
spread of phases (the simulated world models those, sim/src/health_checks.rs). A health check
of any other type, or on an address off loopback, keeps moto's own answer: nothing here
sends a packet beyond the machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.responses import Route53 as Route53Response

CHECKER_REGIONS = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
]
PROBE_TIMEOUT_SECONDS = 1.0


def _on_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _probe_http(check: Any) -> str:
    path = check.resource_path or "/"
    host = check.fqdn or check.ip_address
    connection = http.client.HTTPConnection(check.ip_address, int(check.port), timeout=PROBE_TIMEOUT_SECONDS)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "Amazon-Route53-Health-Check-Service"})
        response = connection.getresponse()
        code, reason = response.status, response.reason
    except (OSError, http.client.HTTPException) as e:
        return f"Failure: Connection failed: {e}"
    finally:
        connection.close()
    verdict = "Success" if 200 <= code < 400 else "Failure"
    return f"{verdict}: HTTP Status Code {code}, {reason}"


def _probe_tcp(check: Any) -> str:
    try:
        with socket.create_connection((check.ip_address, int(check.port)), timeout=PROBE_TIMEOUT_SECONDS):
            return "Success: TCP connection established"
    except OSError as e:
        return f"Failure: Connection failed: {e}"


def _probe(check: Any) -> str | None:
    """The checkers' verdict on `check` now, or None where moto's answer stays."""
    if not _on_loopback(check.ip_address):
        return None
    if check.type_ == "HTTP":
        return _probe_http(check)
    if check.type_ == "TCP":
        return _probe_tcp(check)
    return None


def install() -> None:
    plain = Route53Response.get_health_check_status

    def get_health_check_status(self):  # type: ignore[no-untyped-def]
        check = self.backend.get_health_check(self._get_param("HealthCheckId"))
        status = _probe(check)
        if status is None:
            return plain(self)
        checked = utcnow()
        observations = [
            {
                "Region": region,
                "IPAddress": f"15.177.{i}.{n}",
                "StatusReport": {"Status": status, "CheckedTime": checked},
            }
            for i, region in enumerate(CHECKER_REGIONS)
            for n in (10, 11)
        ]
        return ActionResult({"HealthCheckObservations": observations})

    Route53Response.get_health_check_status = get_health_check_status  # type: ignore[method-assign]


install()
