"""The one place logger, tracer and metrics are built; service name and namespace come from
the POWERTOOLS_* variables the template sets."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
