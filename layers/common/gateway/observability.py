"""The one place logger, tracer and metrics are built; service name and namespace come from
the POWERTOOLS_* variables the template sets.

Log lines carry the id of the message being worked on as `correlation_id`, set where the id
becomes known (the sender per record, receipts, MM7 reports and MO), so that one query
follows a message through every function."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# For metrics with their own dimensions (powertools' single_metric takes the namespace).
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CarrierGateway")


@contextmanager
def dimensioned_metrics(**dimensions: str) -> Iterator[EphemeralMetrics]:
    """Metrics under dimensions of their own (besides `service`), published as one document
    when the block ends: `metrics` has one set of dimensions for the whole invocation, and
    powertools' single_metric writes a document per value."""
    batch = EphemeralMetrics(namespace=METRICS_NAMESPACE)
    for name, value in dimensions.items():
        batch.add_dimension(name=name, value=value)
    try:
        yield batch
    finally:
        if batch.metric_set:
            batch.flush_metrics()
