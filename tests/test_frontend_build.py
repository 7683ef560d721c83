"""The front-end build (scripts/build.mjs, esbuild): every page's bundle exists, every static file a
template refers to exists, and every English string the bundled bpmn-js / dmn-js / properties panel
would show has a Simplified Chinese translation (scripts/i18n-missing.mjs reads the bundles)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "app" / "static"
ENTRIES = sorted(p.stem for p in (STATIC / "js" / "entries").glob("*.js"))

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make deps needs it)")


def test_every_entry_point_is_built():
    assert {"base", "modeler", "dmn", "diagram", "designer", "form-editor", "inbox", "charts"} <= set(ENTRIES)
    for name in ENTRIES:
        bundle = STATIC / "dist" / f"{name}.js"
        assert bundle.is_file() and bundle.stat().st_size > 200, f"{bundle} missing: run make deps"
    versions = json.loads((STATIC / "dist" / "versions.json").read_text())
    assert {"bpmn-js", "bpmn-js-properties-panel", "dmn-js", "esbuild"} <= set(versions)


def test_templates_refer_only_to_existing_static_files():
    refs = set()
    for tpl in (ROOT / "templates").rglob("*.html"):
        refs |= {(tpl.name, m) for m in re.findall(r"filename='([^']+)'", tpl.read_text(encoding="utf-8"))}
    assert len(refs) > 20
    missing = sorted(f"{tpl}: {ref}" for tpl, ref in refs if not (STATIC / ref).is_file())
    assert missing == []
    assert not any(ref.startswith("vendor/") for _tpl, ref in refs)  # the hand-copied bundles are gone


def test_every_bundled_modeler_string_is_translated():
    run = subprocess.run(["node", "scripts/i18n-missing.mjs"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, "untranslated:\n" + run.stdout + run.stderr
    # The check sees the strings of what was bundled (so it could fail): palette, context pad, panel, DMN.
    code = (STATIC / "dist" / "modeler.js").read_text(encoding="utf-8")
    assert 'translate("Create start event")' in code or "Create start event" in code
    extra = json.loads((STATIC / "js" / "i18n" / "zh-extra.json").read_text(encoding="utf-8"))
    assert extra["General"] == "基本信息" and extra["Add lane above"] == "在上方添加泳道"
    assert all(not v.isascii() or not re.search(r"[a-z]{4,}", v) for v in extra.values())
