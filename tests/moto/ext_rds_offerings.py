"""moto extension: the RDS reads of drctl's continuous pre-flight checks.

* DescribeOrderableDBInstanceOptions: moto 5.2.x answers only for aurora-postgresql and
  neptune, and ignores DBInstanceClass. Here every engine's (engine, version, class) triple
  asked is orderable, one option in the region's first two zones, unless the class is listed
  in `DRCTL_MOTO_UNOFFERED_CLASSES` (comma separated): then the answer is empty, as RDS
  answers for a class it does not sell there.
* DescribeAccountAttributes: not in moto at all. Here `AccountQuotas` lists `DBInstances`
  with the region's DB instances in use and RDS's default maximum of 40
  (`DRCTL_MOTO_DB_INSTANCE_QUOTA` overrides it).
"""

from __future__ import annotations

import os
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.responses import RDSResponse

DEFAULT_DB_INSTANCE_QUOTA = 40

_unpatched_orderable = RDSResponse.describe_orderable_db_instance_options


def _unoffered() -> set[str]:
    listed = os.environ.get("DRCTL_MOTO_UNOFFERED_CLASSES", "")
    return {c.strip() for c in listed.split(",") if c.strip()}


def _describe_orderable_db_instance_options(self: RDSResponse) -> Any:
    engine = self.params.get("Engine")
    version = self.params.get("EngineVersion")
    instance_class = self.params.get("DBInstanceClass")
    if not instance_class:
        return _unpatched_orderable(self)
    options: list[dict[str, Any]] = []
    if instance_class not in _unoffered():
        options.append({
            "Engine": engine,
            "EngineVersion": version,
            "DBInstanceClass": instance_class,
            "AvailabilityZones": [{"Name": f"{self.region}{z}"} for z in ("a", "b")],
            "MultiAZCapable": True,
            "ReadReplicaCapable": True,
        })
    return ActionResult({"OrderableDBInstanceOptions": options})


def _describe_account_attributes(self: RDSResponse) -> Any:
    maximum = int(os.environ.get("DRCTL_MOTO_DB_INSTANCE_QUOTA", DEFAULT_DB_INSTANCE_QUOTA))
    used = len(self.backend.databases)
    return ActionResult({
        "AccountQuotas": [
            {"AccountQuotaName": "DBInstances", "Used": used, "Max": maximum},
        ]
    })


RDSResponse.describe_orderable_db_instance_options = _describe_orderable_db_instance_options  # type: ignore[method-assign]
RDSResponse.describe_account_attributes = _describe_account_attributes  # type: ignore[attr-defined]
