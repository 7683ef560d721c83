"""Map layer import (图层导入): GeoJSON points, CSV with coordinates, KML placemarks.

Every bad row gets its own Chinese message (row/feature number and reason); the good rows are kept
only when the caller accepts a partial import — by default one bad row refuses the whole file, so
nothing half-imported is left behind.
"""

from __future__ import annotations

import csv
import io
import json

from lxml import etree

from app.audit import services as audit
from app.dispatch.models import MapLayer
from app.errors import ValidationFailed
from app.extensions import db

MAX_FEATURES = 5000
LON_KEYS = ("lon", "lng", "longitude", "经度", "x")
LAT_KEYS = ("lat", "latitude", "纬度", "y")
NAME_KEYS = ("name", "名称", "title", "标题")


def _coord(value, lo: float, hi: float, what: str) -> float:
    try:
        v = float(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what}“{value}”不是数字") from None
    if not lo <= v <= hi:
        raise ValueError(f"{what} {v} 超出上海及周边范围（{lo}～{hi}）")
    return v


def _point(lon, lat) -> tuple[float, float]:
    return _coord(lon, 120.5, 122.5, "经度"), _coord(lat, 30.4, 32.0, "纬度")


def parse_geojson(text: str) -> tuple[list[dict], list[str]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [], [f"文件不是合法的 GeoJSON：{exc.msg}（第 {exc.lineno} 行）"]
    feats = doc.get("features") if isinstance(doc, dict) else None
    if doc.get("type") == "Feature" if isinstance(doc, dict) else False:
        feats = [doc]
    if not isinstance(feats, list):
        return [], ["GeoJSON 中没有 features 要素列表"]
    out, errors = [], []
    for i, f in enumerate(feats, 1):
        try:
            geom = (f or {}).get("geometry") or {}
            if geom.get("type") != "Point":
                raise ValueError(f"只支持点要素，此要素为 {geom.get('type') or '空'}")
            coords = geom.get("coordinates") or []
            if len(coords) < 2:
                raise ValueError("缺少坐标")
            lon, lat = _point(coords[0], coords[1])
            props = dict(f.get("properties") or {})
            name = next((str(props[k]) for k in NAME_KEYS if props.get(k)), "")
            if not name:
                raise ValueError("缺少名称（properties.name）")
            out.append({"name": name[:100], "lon": lon, "lat": lat, "props": props})
        except (ValueError, AttributeError) as exc:
            errors.append(f"第 {i} 个要素：{exc}")
    return out, errors


def parse_csv(text: str) -> tuple[list[dict], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    lon_h = next((fields[k] for k in LON_KEYS if k in fields), None)
    lat_h = next((fields[k] for k in LAT_KEYS if k in fields), None)
    name_h = next((fields[k] for k in NAME_KEYS if k in fields), None)
    missing = [w for w, h in (("名称", name_h), ("经度", lon_h), ("纬度", lat_h)) if h is None]
    if missing:
        return [], [f"CSV 表头缺少列：{'、'.join(missing)}（可用 name/名称、lon/经度、lat/纬度）"]
    out, errors = [], []
    for i, row in enumerate(reader, 2):  # row 1 is the header
        try:
            name = (row.get(name_h) or "").strip()
            if not name:
                raise ValueError("名称为空")
            lon, lat = _point(row.get(lon_h), row.get(lat_h))
            props = {k: v for k, v in row.items() if k not in (name_h, lon_h, lat_h) and k}
            out.append({"name": name[:100], "lon": lon, "lat": lat, "props": props})
        except ValueError as exc:
            errors.append(f"第 {i} 行：{exc}")
    return out, errors


def parse_kml(data: bytes) -> tuple[list[dict], list[str]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [], [f"KML 文件格式错误：{exc.msg}"]
    out, errors = [], []
    for i, pm in enumerate(root.iter("{*}Placemark"), 1):
        try:
            name = (pm.findtext("{*}name") or "").strip()
            if not name:
                raise ValueError("缺少名称（name）")
            text = pm.findtext(".//{*}Point/{*}coordinates")
            if not text:
                raise ValueError("只支持点（Point）要素")
            parts = text.strip().split(",")
            if len(parts) < 2:
                raise ValueError(f"坐标“{text.strip()}”格式错误")
            lon, lat = _point(parts[0], parts[1])
            out.append({"name": name[:100], "lon": lon, "lat": lat, "props": {}})
        except ValueError as exc:
            errors.append(f"第 {i} 个地标：{exc}")
    return out, errors


def parse(filename: str, data: bytes) -> tuple[list[dict], list[str]]:
    name = (filename or "").lower()
    if name.endswith(".kml"):
        feats, errors = parse_kml(data)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                return [], ["文件编码无法识别，请使用 UTF-8 或 GBK"]
        if name.endswith((".geojson", ".json")):
            feats, errors = parse_geojson(text)
        elif name.endswith(".csv"):
            feats, errors = parse_csv(text)
        else:
            return [], ["只支持 GeoJSON（.geojson/.json）、CSV（.csv）和 KML（.kml）文件"]
    if not feats and not errors:
        errors = ["文件中没有可导入的点"]
    if len(feats) > MAX_FEATURES:
        errors.append(f"一次最多导入 {MAX_FEATURES} 个点")
    return feats, errors


def import_layer(*, name: str, filename: str, data: bytes, actor=None, partial: bool = False) -> MapLayer:
    """Refuse the file with every row's error (ValidationFailed.errors["rows"]); with `partial`, keep the good rows."""
    if not (name or "").strip():
        raise ValidationFailed("请填写图层名称", errors={"name": "请填写图层名称"})
    feats, errors = parse(filename, data)
    if errors and (not partial or not feats):
        raise ValidationFailed(f"导入失败：{len(errors)} 处错误，未导入任何数据", errors={"rows": errors})
    layer = MapLayer(
        name=name.strip()[:80],
        source_name=(filename or "")[:200],
        features=feats,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(layer)
    db.session.flush()
    audit.record(
        "dispatch.layer_import",
        actor=actor,
        object_type="map_layer",
        object_id=layer.id,
        detail={"features": len(feats), "skipped": len(errors)},
    )
    layer.ducha_skipped = errors
    return layer
