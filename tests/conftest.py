"""Shared paths and helpers for the test layers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "upstream_fixtures"

sys.path.insert(0, str(Path(__file__).parent))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test cleanly when it is not there (a user's machine)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is only beside the project on the developers' machines)")
    return path
