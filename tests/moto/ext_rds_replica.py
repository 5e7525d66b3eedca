"""moto extension: PromoteReadReplica breaks the replica link, as RDS does.

moto (5.2.x) has DB instance read replicas, across regions too (CreateDBInstanceReadReplica
with the source named by ARN looks the source up in its own region's backend), but its
PromoteReadReplica only clears an internal flag: the promoted instance still reports
ReadReplicaSourceDBInstanceIdentifier, and its old source still lists it among
ReadReplicaDBInstanceIdentifiers. RDS (User Guide, "Promoting a read replica to be a
standalone DB instance") makes it a standalone instance with no source, and the source
stops listing it (moto removes a cross-region replica by identifier, though it lists it by
ARN, so it never did). This module patches RDSBackend.promote_read_replica to do that; read
replicas also report their `read replication` StatusInfos entry (`replicating`), which
moto leaves out; and promoting an instance that does not exist is DBInstanceNotFound, not
an HTTP 500. tests/moto/serve.py imports it before the server starts.
"""

from __future__ import annotations

from typing import Any

from moto.rds.exceptions import DBInstanceNotFoundError
from moto.rds.models import DBInstance, RDSBackend

_original_promote = RDSBackend.promote_read_replica


def _promote_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    identifier = db_kwargs["db_instance_identifier"]
    if identifier not in self.databases:
        # moto answered a KeyError with HTTP 500; RDS says DBInstanceNotFound.
        raise DBInstanceNotFoundError(identifier)
    database = self.databases[identifier]
    source_id = database.source_db_instance_identifier
    promoted = _original_promote(self, db_kwargs)
    if source_id:
        try:
            source = self.find_db_from_id(source_id)
        except Exception:  # the source is gone: nothing lists the replica any more
            source = None
        if source is not None:
            # moto lists a cross-region replica by ARN and removes by identifier only.
            names = {promoted.db_instance_identifier, promoted.db_instance_arn}
            source.replicas = [r for r in source.replicas if r not in names]
        promoted.source_db_instance_identifier = None
    return promoted


RDSBackend.promote_read_replica = _promote_read_replica


def _status_infos(self: DBInstance) -> list[dict[str, Any]]:
    if getattr(self, "is_replica", False) and self.source_db_instance_identifier:
        return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
    return []


if not hasattr(DBInstance, "status_infos"):
    DBInstance.status_infos = property(_status_infos)  # type: ignore[attr-defined]
