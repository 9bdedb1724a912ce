"""Runs the notebooks (via nbval) in fast mode: fewer epochs, the same conclusions."""
import os

os.environ.setdefault("AETEACH_FAST", "1")
