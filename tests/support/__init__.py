"""Helpers for the tests (importable as ``support``; fixtures stay in conftest.py)."""
