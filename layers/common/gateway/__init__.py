"""The carrier gateway's shared package: domain, adapters and codecs, imported by every function."""
