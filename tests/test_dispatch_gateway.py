"""The gateway client against the simulator running as a real process on loopback: positions move,
and a timeout, a 500, a bad token and a vanished device each give a Chinese message."""

from __future__ import annotations

import time

import pytest

from app.dispatch.gateway import GatewayClient, GatewayError
from tests.dispatch_support import TOKEN, sim  # noqa: F401  (fixture)


def client(sim, **kw) -> GatewayClient:  # noqa: F811
    return GatewayClient(sim.base, kw.pop("token", TOKEN), **{"timeout": 2.0, "retries": 1, "backoff": 0.05, **kw})


def test_devices_move_along_the_road_graph(sim):  # noqa: F811
    c = client(sim)
    first = {p["id"]: p for p in c.positions()}
    # 11 once test_dispatch.py has made VEH0001 vanish (one simulator per session)
    assert len(first) >= 11 and {p["kind"] for p in first.values()} == {"camera", "vehicle"}
    assert all(121.3 < p["lon"] < 121.6 and 31.1 < p["lat"] < 31.33 for p in first.values())  # Shanghai
    time.sleep(0.7)
    second = {p["id"]: p for p in c.positions()}
    moved = [k for k in first if (first[k]["lon"], first[k]["lat"]) != (second[k]["lon"], second[k]["lat"])]
    assert len(moved) >= 9, moved
    assert c.device("VEH0001")["name"].startswith("沪A")


def test_bad_token_is_an_authentication_failure(sim):  # noqa: F811
    with pytest.raises(GatewayError) as err:
        client(sim, token="wrong").positions()
    assert err.value.kind == "auth" and "令牌无效" in err.value.message


def test_server_error_is_retried_then_reported(sim):  # noqa: F811
    sim.fault(error=500, count=1)
    assert len(client(sim, retries=1).positions()) >= 11  # one 500, the retry succeeds
    sim.fault(error=500, count=2)
    with pytest.raises(GatewayError) as err:
        client(sim, retries=1).positions()
    assert err.value.kind == "server" and "网关内部错误（HTTP 500）" in err.value.message
    sim.fault(count=0)


def test_timeout_is_bounded_and_reported(sim):  # noqa: F811
    sim.fault(delay=1.5, count=1)
    started = time.monotonic()
    with pytest.raises(GatewayError) as err:
        client(sim, timeout=0.3, retries=0).positions()
    assert time.monotonic() - started < 1.2
    assert err.value.kind == "timeout" and "网关超时" in err.value.message
    time.sleep(1.3)  # the slow answer drains


def test_acts_are_not_retried_after_a_timeout(sim):  # noqa: F811
    before = sim.control("health", method="GET")["notices"]
    sim.fault(delay=1.0, count=1)
    with pytest.raises(GatewayError) as err:
        client(sim, timeout=0.3, retries=3).notify("CAM0001", "测试")
    assert err.value.kind == "timeout"
    time.sleep(1.0)
    assert sim.control("health", method="GET")["notices"] == before + 1  # done once, not four times


def test_a_vanished_device_and_a_dead_gateway(sim):  # noqa: F811
    c = client(sim)
    assert c.device("CAM0008")["id"] == "CAM0008"
    sim.control("vanish", {"id": "CAM0008"})
    with pytest.raises(GatewayError) as err:
        c.device("CAM0008")
    assert err.value.kind == "gone" and "设备已不存在" in err.value.message
    assert "CAM0008" not in {p["id"] for p in c.positions()}
    with pytest.raises(GatewayError) as err:
        GatewayClient("http://127.0.0.1:9", TOKEN, timeout=0.5, retries=0).positions()
    assert err.value.kind == "down" and "网关无法连接" in err.value.message


def test_point_call_answers_with_a_stream_and_becomes_a_recording(sim):  # noqa: F811
    c = client(sim)
    call = c.start_call("CAM0002")
    assert call["stream_url"].endswith("/hls/CAM0002/index.m3u8")
    stopped = c.stop_call(call["call_id"])
    recs = [r for r in c.recordings() if r["id"] == stopped["recording_id"]]
    assert recs and recs[0]["device_id"] == "CAM0002"
    data = c.recording_file(recs[0]["id"])
    assert len(data) == recs[0]["size"] > 1000
    sim.control("online", {"id": "CAM0003", "online": False})
    with pytest.raises(GatewayError) as err:
        c.start_call("CAM0003")
    assert err.value.kind == "offline" and "设备离线" in err.value.message
    assert any(e["device_id"] == "CAM0003" and e["online"] is False for e in c.events(0))
