"""The one place logger, tracer and metrics are built; service name and namespace come from
the POWERTOOLS_* variables the template sets."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# For metrics with their own dimensions (powertools' single_metric takes the namespace).
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CarrierGateway")
