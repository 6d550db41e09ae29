"""MMS content in S3, never in DynamoDB (its items stop at 400 KB)."""

from botocore.exceptions import ClientError

from gateway.aws import clients


def store(bucket: str, key: str, data: bytes, content_type: str) -> None:
    clients.s3().put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        ServerSideEncryption="AES256",
    )


def discard(bucket: str, keys: list[str]) -> None:
    """Delete the objects; ClientError when S3 refuses any of them."""
    if not keys:
        return
    answer = clients.s3().delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )
    if errors := answer.get("Errors"):
        first = errors[0]
        raise ClientError(
            {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}},
            "DeleteObjects",
        )


class TooLarge(ValueError):
    """The object is larger than the caller may hold."""


def fetch(s3_uri: str, max_bytes: int) -> bytes:
    """`s3://bucket/key` -> the object's bytes; TooLarge past `max_bytes`. Reads at most one
    byte more than that, however large the object: the function's memory stays bounded."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    try:
        answer = clients.s3().get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidRange":
            return b""  # S3's answer to a range of an empty object
        raise
    content = answer["Body"].read()
    if len(content) > max_bytes:
        raise TooLarge(f"{s3_uri} is over {max_bytes:,} bytes")
    return content
