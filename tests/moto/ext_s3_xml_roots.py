"""moto extension: S3 answers with the XML root element AWS sends.

moto 5.2.x serializes S3's GetBucketVersioning answer with its generic rest-xml serializer,
which names the root after the operation (`<GetBucketVersioningResponse>`). AWS names it after
the output structure's Smithy `@xmlName` (`<VersioningConfiguration>`), which botocore's model
does not carry. boto3 ignores the root's name, so moto's own tests pass; the AWS SDK for Rust
checks it and fails with "invalid root, expected VersioningConfiguration". This was not a
routing problem: the request reaches moto's S3 backend, and the same body comes back from
moto's in-process mock as well.

The patch replaces only the root's name for the operations in ROOTS; the members, the
namespace and the headers are moto's own.
"""

from __future__ import annotations

from typing import Any

from moto.core.serialize import S3Serializer

# Operation -> the root element AWS sends (the Smithy model's @xmlName of its output).
ROOTS = {"GetBucketVersioning": "VersioningConfiguration"}

_unpatched = S3Serializer._serialized_result_to_response


def _serialized_result_to_response(
    self: S3Serializer,
    resp: dict[str, Any],
    result: Any,
    shape: Any,
    serialized_result: dict[str, Any],
) -> dict[str, Any]:
    root = ROOTS.get(self.operation_model.name)
    if root is None or "payload" in serialized_result:
        return _unpatched(self, resp, result, shape, serialized_result)
    body = dict(serialized_result.get("body", {}))
    self._serialize_namespace_attribute(body)
    resp["body"] = self._serialize_body({root: body})
    resp["headers"].update(serialized_result.get("headers", {}))
    resp["headers"]["Content-Type"] = self.CONTENT_TYPE
    return resp


S3Serializer._serialized_result_to_response = _serialized_result_to_response  # type: ignore[method-assign]
