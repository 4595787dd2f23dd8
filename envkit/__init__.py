"""envkit: inspect, diagnose and prove a deep-learning machine."""

__version__ = "0.1.0"
