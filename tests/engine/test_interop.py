"""The BPMN MIWG reference files: each validates or yields problems naming an element, never a crash."""

from pathlib import Path

import pytest

from app.engine.errors import SpecProblem
from app.engine.specs import ProcessBundle, validate

MIWG = Path(__file__).parents[2] / ".." / "shared" / "interop" / "miwg-reference"
FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


def _check(bundle: ProcessBundle) -> list[SpecProblem]:
    problems = validate(bundle)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        assert problem.element_id, problem
        assert problem.message and not problem.message.isascii(), problem
    return errors


def test_reference_folder_present() -> None:
    if not MIWG.is_dir():
        print(f"MIWG reference folder missing: {MIWG.resolve()}")
        pytest.skip(f"MIWG reference folder missing: {MIWG.resolve()}")
    assert len(FILES) == 21


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_miwg_file(path: Path) -> None:
    _check(ProcessBundle(bpmn={path.name: path.read_bytes()}))


def test_miwg_c9_as_one_bundle() -> None:
    files = [p for p in FILES if p.name.startswith("C.9.")]
    if len(files) != 3:
        pytest.skip("C.9.x reference files missing")
    errors = _check(ProcessBundle(bpmn={p.name: p.read_bytes() for p in files}))
    assert not any("不在本次部署中" in p.message for p in errors)  # call activities resolve together
