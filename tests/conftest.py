"""Fixtures shared by the test files."""
import pytest

import aeteach as ae


@pytest.fixture(scope="session")
def digits():
    """The embedded digits: (train, test)."""
    return ae.load_dataset("digits"), ae.load_dataset("digits", "test")
