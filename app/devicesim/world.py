"""The simulated devices: body cameras and vehicles moving along a small Shanghai road graph.

No Flask, no database: the simulator is a separate process that plays a device gateway on loopback.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROADS = Path(__file__).with_name("roads.json")


def load_graph(path: Path = ROADS) -> tuple[dict, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    nodes = {k: (v[0], float(v[1]), float(v[2])) for k, v in data["nodes"].items()}
    adj: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in data["edges"]:
        adj[a].append(b)
        adj[b].append(a)
    return nodes, adj


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6371000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@dataclass
class Device:
    id: str
    kind: str  # camera / vehicle
    name: str
    speed: float  # m/s
    frm: str
    to: str
    progress: float = 0.0  # metres along the current edge
    online: bool = True
    lon: float = 0.0
    lat: float = 0.0
    updated: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "online": self.online,
            "lon": round(self.lon, 6),
            "lat": round(self.lat, 6),
            "speed_kmh": round(self.speed * 3.6, 1) if self.online else 0,
            "ts": round(self.updated, 3),
        }


class World:
    """All devices, advanced by `tick(dt)`; status changes are queued as events (and pushed by the server)."""

    def __init__(self, cameras: int = 50, vehicles: int = 20, seed: int = 7, churn: float = 0.002):
        self.nodes, self.adj = load_graph()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.churn = churn
        self.devices: dict[str, Device] = {}
        self.events: list[dict] = []
        self.seq = 0
        keys = sorted(self.nodes)
        for i in range(cameras):
            a = self.rng.choice(keys)
            self._add(Device(f"CAM{i + 1:04d}", "camera", f"执法记录仪{i + 1:03d}", 1.4 + self.rng.random(), a, a))
        for i in range(vehicles):
            a = self.rng.choice(keys)
            self._add(Device(f"VEH{i + 1:04d}", "vehicle", f"沪A·执{i + 1:03d}", 8 + 6 * self.rng.random(), a, a))

    def _add(self, dev: Device) -> None:
        dev.to = self.rng.choice(self.adj[dev.frm])
        dev.progress = self.rng.random() * self._length(dev)
        self._place(dev)
        self.devices[dev.id] = dev

    def _length(self, dev: Device) -> float:
        _, x1, y1 = self.nodes[dev.frm]
        _, x2, y2 = self.nodes[dev.to]
        return max(1.0, metres(x1, y1, x2, y2))

    def _place(self, dev: Device) -> None:
        _, x1, y1 = self.nodes[dev.frm]
        _, x2, y2 = self.nodes[dev.to]
        f = min(1.0, dev.progress / self._length(dev))
        dev.lon, dev.lat = x1 + (x2 - x1) * f, y1 + (y2 - y1) * f

    def _event(self, kind: str, dev: Device) -> dict:
        self.seq += 1
        ev = {"seq": self.seq, "type": kind, "device_id": dev.id, "online": dev.online, "ts": time.time()}
        self.events.append(ev)
        del self.events[:-1000]
        return ev

    def tick(self, dt: float) -> list[dict]:
        """Move every online device `dt` seconds along the graph; returns the status events raised."""
        out = []
        now = time.time()
        with self.lock:
            for dev in self.devices.values():
                if self.churn and self.rng.random() < (self.churn if dev.online else self.churn * 20) * dt:
                    dev.online = not dev.online
                    out.append(self._event("status", dev))
                if not dev.online:
                    continue
                dev.progress += dev.speed * dt
                while dev.progress >= self._length(dev):
                    dev.progress -= self._length(dev)
                    nxt = [n for n in self.adj[dev.to] if n != dev.frm] or self.adj[dev.to]
                    dev.frm, dev.to = dev.to, self.rng.choice(nxt)
                self._place(dev)
                dev.updated = now
        return out

    def set_online(self, device_id: str, online: bool) -> dict | None:
        with self.lock:
            dev = self.devices.get(device_id)
            if dev is None or dev.online == online:
                return None
            dev.online = online
            return self._event("status", dev)

    def vanish(self, device_id: str) -> bool:
        with self.lock:
            return self.devices.pop(device_id, None) is not None

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [d.as_dict() for d in self.devices.values()]

    def get(self, device_id: str) -> dict | None:
        with self.lock:
            dev = self.devices.get(device_id)
            return dev.as_dict() if dev else None

    def events_since(self, seq: int) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["seq"] > seq]
