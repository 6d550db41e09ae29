"""Every tier: the environment Lambda would give the functions before their modules import."""

import os

for name, value in {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_METRICS_NAMESPACE": "CarrierGateway",
    "POWERTOOLS_SERVICE_NAME": "tests",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(name, value)
