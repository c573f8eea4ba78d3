"""End-to-end validation harness for the OSAC ComputeInstance restart feature."""

__version__ = "0.1.0"
