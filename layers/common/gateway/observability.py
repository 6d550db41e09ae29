"""The one place logger, tracer and metrics are built; service name and namespace come from
the POWERTOOLS_* variables the template sets.

Log lines carry the id of the message being worked on as `correlation_id`, set where the id
becomes known (the sender per record, receipts, MM7 reports and MO), so that one query
follows a message through every function."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# For metrics with their own dimensions (powertools' single_metric takes the namespace).
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CarrierGateway")
