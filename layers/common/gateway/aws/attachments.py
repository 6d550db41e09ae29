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


def fetch(s3_uri: str) -> bytes:
    """`s3://bucket/key` -> the object's bytes."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return clients.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
