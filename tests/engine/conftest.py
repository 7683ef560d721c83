"""Fixtures for the pure engine tests (no Flask app, no database)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine.specs import ProcessBundle

DATA = Path(__file__).parent / "data"
FORMS = {"clue_fill.schema.json", "clue_fill.uischema.json", "clue_approve.schema.json"}

BundleFactory = Callable[..., ProcessBundle]


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture
def make_bundle() -> BundleFactory:
    """The sample bundle, optionally with text replacements in its BPMN or DMN source."""

    def make(
        bpmn_replace: dict[str, str] | None = None,
        dmn_replace: dict[str, str] | None = None,
        forms: set[str] | None = None,
    ) -> ProcessBundle:
        bpmn, dmn = _read("clue_verify.bpmn"), _read("clue_grade.dmn")
        for old, new in (bpmn_replace or {}).items():
            assert old in bpmn, old
            bpmn = bpmn.replace(old, new, 1)
        for old, new in (dmn_replace or {}).items():
            assert old in dmn, old
            dmn = dmn.replace(old, new, 1)
        return ProcessBundle(
            bpmn={"clue_verify.bpmn": bpmn.encode()},
            dmn={"clue_grade.dmn": dmn.encode()},
            forms=FORMS if forms is None else forms,
        )

    return make


@pytest.fixture
def bundle(make_bundle: BundleFactory) -> ProcessBundle:
    return make_bundle()
