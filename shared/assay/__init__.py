"""Assay: test, evaluate and observe LLM applications."""

__version__ = "0.1.0"
