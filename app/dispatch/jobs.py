"""Scheduler-round jobs of 指挥调度: the gateway poll (positions, status events, recordings) and retention."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.engine.cli import round_job

log = logging.getLogger(__name__)
_state = {"events_seq": 0, "recordings_at": 0.0}


@round_job("dispatch.poll", every=5.0)
def poll_job(now: datetime) -> int:
    """Pull positions and status changes from the gateway (when DUCHA_GATEWAY_POLL is on: `make run`)."""
    if not current_app.config.get("GATEWAY_POLL"):
        return 0
    from app.dispatch import devices, gateway, video

    client = gateway.from_config(current_app.config)
    try:
        positions = client.positions()
        n = devices.apply_positions(positions)
        devices.mark_missing({str(p.get("id")) for p in positions})
        events = client.events(_state["events_seq"])
        if events:
            _state["events_seq"] = max(e["seq"] for e in events)
            devices.apply_status_events(events)
        if now.timestamp() - _state["recordings_at"] >= 30:
            _state["recordings_at"] = now.timestamp()
            video.sync(client)
    except gateway.GatewayError as exc:
        log.warning("gateway poll: %s", exc.message)
        return 0
    return n


@round_job("dispatch.retention", every=3600.0)
def retention_job(now: datetime) -> int:
    """Recordings past the retention period (1 year) are deleted, legal holds kept, one audit entry each."""
    from app.dispatch.video import purge_expired

    return purge_expired(now)
