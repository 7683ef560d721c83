"""Lanes stand for roles: the shipped processes name their lanes in Chinese and say the role in a
``role`` property; files from other tools (lane name = role code) keep working."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from app.engine import specs
from app.engine.specs import ProcessBundle

ROOT = Path(__file__).resolve().parents[1]


def _bundle(path: Path) -> ProcessBundle:
    base = path.parent.parent  # workflows/ beside rules/ and forms/ (the shipped ones, or tests/data)
    return ProcessBundle(
        bpmn={path.name: path.read_bytes()},
        dmn={p.name: p.read_bytes() for p in (base / "rules").glob("*.dmn")},
        forms={p.name for p in (base / "forms").glob("*.json")},
    )


def _lanes(path: Path) -> dict[str, str]:
    spec, _subs = specs.build(_bundle(path))
    return {name: ts.lane for name, ts in spec.task_specs.items() if getattr(ts, "manual", False)}


def test_shipped_lanes_have_chinese_names_and_a_role_property():
    for path in sorted((ROOT / "workflows").glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        lanes = list(root.iter(f"{{{specs.speclint.BPMN_NS}}}lane"))
        roles = specs.lane_roles(list(root.iter(f"{{{specs.speclint.BPMN_NS}}}process")))
        for lane in lanes:
            assert not lane.get("name").isascii(), f"{path.name}: lane {lane.get('id')} named {lane.get('name')}"
            assert any(lane.get("name") in r for r in roles.values()), f"{path.name}: lane {lane.get('id')} has no role"


def test_the_runtime_reads_the_role_of_a_lane_not_its_name():
    lanes = _lanes(ROOT / "workflows" / "clue_verification.bpmn")
    assert lanes["accept"] == "district_leader" and lanes["dispatch"] == "city_officer"
    assert not any(lane and not lane.isascii() for lane in lanes.values())


def test_a_lane_named_by_role_code_still_works():
    lanes = _lanes(ROOT / "tests" / "data" / "workflows" / "approval_demo.bpmn")
    assert lanes["review"] == "district_leader" and lanes["fill"] == "district_officer"
