"""MMS content in S3, never in DynamoDB (its items stop at 400 KB)."""

from gateway import aws_clients


def store(bucket: str, key: str, data: bytes, content_type: str) -> None:
    aws_clients.s3().put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        ServerSideEncryption="AES256",
    )


def fetch(s3_uri: str) -> bytes:
    """`s3://bucket/key` -> the object's bytes."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return aws_clients.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
