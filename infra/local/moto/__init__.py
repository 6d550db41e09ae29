"""Patches to moto's server for the local stack, where many function workers call it at once.

`correctness` holds the patches without which requests fail; `speed` those that only keep
moto's costs from growing with the data (a benchmark's pace is the gateway's, not moto's).
None changes what an AWS API answers. `adapt_moto()` applies both.

Every import here is absolute: `moto` is always moto's own package, `infra.local.moto` this one.
"""

from infra.local.moto import correctness, speed


def adapt_moto() -> None:
    """Apply every patch to moto in this process; calling it again does nothing."""
    correctness.apply()
    speed.apply()
