"""S3 for the workbench: the client the settings describe (credentials from the standard
AWS chain, never stored), s3:// URIs, listings, and botocore's failures as domain errors
that say what to check.

boto3 with its transfer manager (s3transfer) is the library: it is AWS's own client, speaks
to every S3-compatible server (Ceph RGW, MinIO) with path or virtual addressing, reads the
whole credentials chain (environment, shared files, profiles, SSO, instance roles), and its
transfer manager does parallel multipart uploads and ranged downloads with per-chunk
callbacks (progress and cancel) and aborts a multipart upload that fails or is cancelled."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..diskspace import NotEnoughSpace
from ..errors import Forbidden, InvalidInput, MLOpsError, NotFound, Unavailable
from ..registry.rules import S3_URI

ADDRESSING_STYLES = ("auto", "path", "virtual")
#: Parallel connections of one transfer (parts of one file, or files at once).
CONCURRENCY = 8
#: Files above this go in parts of PART_SIZE (S3 allows 5 MiB to 5 GiB per part).
MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 16 << 20


@dataclass(frozen=True)
class S3Options:
    """Where S3 is and how to address it (the `s3_*` settings); credentials are not here:
    they come from the AWS chain of the process that talks to S3."""

    endpoint_url: str = ""
    region: str = ""
    addressing_style: str = "auto"
    profile: str = ""

    @classmethod
    def of(cls, settings: Any) -> S3Options:
        """The options of a `Settings`."""
        return cls(settings.s3_endpoint_url, settings.s3_region, settings.s3_addressing_style, settings.s3_profile)

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> S3Options:
        """The options a job carries (see `params`)."""
        return cls(**{k: str(v) for k, v in (params or {}).items() if k in cls.__dataclass_fields__})

    def params(self) -> dict[str, str]:
        """The options as a job's params hold them."""
        return asdict(self)

    @property
    def where(self) -> str:
        """The endpoint as a message names it."""
        return self.endpoint_url or "AWS S3"


def parse_uri(uri: str, field: str = "storage_path") -> tuple[str, str]:
    """`s3://bucket/key/prefix` -> (bucket, key prefix without a leading slash); InvalidInput otherwise."""
    if not isinstance(uri, str) or not re.fullmatch(S3_URI, uri):
        raise InvalidInput(
            f"{field}: {uri!r} is not an s3:// URI with a valid bucket name (s3://bucket/prefix)", field=field
        )
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key.lstrip("/")


def folder_of(prefix: str) -> str:
    """A key prefix as the folder it names: `prefix/` (the bucket's root when empty)."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def is_s3(path: str | None) -> bool:
    """Whether a storage path is on S3."""
    return bool(path) and str(path).startswith("s3://")


def client(options: S3Options, *, concurrency: int = CONCURRENCY) -> Any:
    """A boto3 S3 client for `options` with the AWS chain's credentials; InvalidInput naming
    what to set when the chain has none."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(profile_name=options.profile or None)
        if session.get_credentials() is None:
            raise _no_credentials(options)
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": options.addressing_style},
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=concurrency + 2,
            # S3-compatible servers (Ceph, MinIO, rclone) differ on the newer flexible
            # checksums; we verify content ourselves (sha256), so send and check them only
            # where S3 requires them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return session.client(
            "s3", endpoint_url=options.endpoint_url or None, region_name=options.region or None, config=config
        )
    except BotoCoreError as exc:
        raise explain(exc, "", options) from None


def check_reachable(uri: str, options: S3Options, *, writing: bool = False) -> None:
    """Refuse now, naming what to check, when the credentials or the bucket of `uri` do not answer."""
    bucket, prefix = parse_uri(uri)
    s3 = client(options)
    try:
        s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as exc:
        raise explain(exc, uri, options, writing=writing) from None


def has_object(uri: str, name: str, options: S3Options) -> bool:
    """Whether object `name` lies directly under the prefix `uri` (False when S3 cannot say)."""
    bucket, prefix = parse_uri(uri)
    key = folder_of(prefix) + name
    try:
        client(options).head_object(Bucket=bucket, Key=key)
        return True
    except Exception:
        return False


def _no_credentials(options: S3Options) -> InvalidInput:
    profile = f" (profile {options.profile!r})" if options.profile else ""
    return InvalidInput(
        f"credentials: no S3 credentials found{profile}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or a profile in ~/.aws/credentials (the s3_profile setting or AWS_PROFILE) for the server's user",
        field="credentials",
    )


def transfer_config(concurrency: int = CONCURRENCY) -> Any:
    """The transfer manager's settings: parts of PART_SIZE above MULTIPART_THRESHOLD, `concurrency` at once."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=PART_SIZE,
        max_concurrency=concurrency,
        io_chunksize=1 << 20,
        use_threads=True,
    )


@dataclass(frozen=True)
class S3Object:
    """One object of a listing."""

    key: str
    size: int
    etag: str
    modified: datetime | None


def list_objects(s3: Any, bucket: str, prefix: str, options: S3Options) -> Iterator[S3Object]:
    """The objects under `prefix` (a folder: `prefix/` unless empty), in key order, a page of
    1,000 at a time; folder markers (keys ending in /) are skipped."""
    folder = folder_of(prefix)
    token: str | None = None
    try:
        while True:
            args: dict[str, Any] = {"Bucket": bucket, "Prefix": folder, "MaxKeys": 1000}
            if token:
                args["ContinuationToken"] = token
            answer = s3.list_objects_v2(**args)
            for item in answer.get("Contents") or []:
                if not item["Key"].endswith("/"):
                    yield S3Object(
                        item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'), item.get("LastModified")
                    )
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                return
    except Exception as exc:
        raise explain(exc, f"s3://{bucket}/{folder}", options) from None


def explain(exc: BaseException, uri: str, options: S3Options, *, writing: bool = False) -> MLOpsError:
    """A domain error saying what to check for a botocore failure on `uri`; an error that is
    already one passes through; anything unknown is Unavailable with its one line."""
    from botocore import exceptions as bce

    if isinstance(exc, MLOpsError):
        return exc
    where, target = options.where, uri or "S3"
    if isinstance(exc, bce.ProfileNotFound):
        return InvalidInput(f"s3_profile: {exc} (check ~/.aws/config and ~/.aws/credentials)", field="s3_profile")
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return _no_credentials(options)
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ConnectionClosedError)):
        return Unavailable(
            f"cannot reach the S3 endpoint {where}: check the s3_endpoint_url setting and that the server is up ({exc})"
        )
    if isinstance(exc, (bce.ReadTimeoutError, bce.ConnectionError)):
        return Unavailable(f"the S3 endpoint {where} stopped answering while reading {target}; try again ({exc})")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return NotEnoughSpace(f"disk full while fetching {target}: free some space in the model cache and try again")
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        bucket = target[5:].split("/", 1)[0] if target.startswith("s3://") else target
        if code in (
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "InvalidToken",
            "ExpiredToken",
            "AuthorizationHeaderMalformed",
        ):
            return Forbidden(
                f"credentials: {where} refused the credentials ({code}): check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or the profile's keys) and that they belong to this endpoint",
                field="credentials",
            )
        if code == "NoSuchBucket" or (code in ("404", "NotFound") and "/" not in target[5:].rstrip("/")):
            return NotFound(
                f"bucket {bucket} does not exist at {where}: check the bucket name, the s3_endpoint_url and s3_region"
            )
        if code in ("NoSuchKey", "404", "NotFound"):
            return NotFound(f"{target} does not exist at {where}")
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            needs = (
                "s3:ListBucket, s3:ListBucketMultipartUploads, s3:PutObject and s3:AbortMultipartUpload"
                if writing
                else "s3:ListBucket and s3:GetObject"
            )
            return Forbidden(
                f"access denied to {target} at {where}: the credentials' policy must allow {needs} on it",
                field="credentials",
            )
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return InvalidInput(
                f"s3_region: bucket {bucket} is in another region ({error.get('Message', code)}): set s3_region",
                field="s3_region",
            )
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return Unavailable(f"the S3 endpoint {where} failed ({code or status}) on {target}; try again later")
        return Unavailable(f"S3 refused {target} at {where}: {code} {error.get('Message', '')}".rstrip())
    if isinstance(exc, bce.BotoCoreError):
        return Unavailable(f"S3 at {where}: {exc}")
    return Unavailable(f"S3 at {where}: {type(exc).__name__}: {exc}")
