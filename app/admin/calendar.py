"""The working-day calendar page: official holidays and make-up workdays, corrected by administrators."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.audit import services as audit
from app.engine.calendar import get_calendar
from app.engine.models import CalendarDay
from app.engine.wiring import invalidate_calendar
from app.errors import ValidationFailed
from app.extensions import db
from app.security.access import permission_required

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")


def set_day(day: date, *, working: bool, note: str | None, actor) -> CalendarDay:
    row = db.session.get(CalendarDay, day) or CalendarDay(day=day, working=working)
    row.working, row.note = working, (note or "").strip()[:60] or None
    db.session.add(row)
    db.session.flush()
    audit.record(
        "calendar.set",
        actor=actor,
        object_type="calendar",
        object_id=day.isoformat(),
        detail={"working": working, "note": row.note},
    )
    invalidate_calendar()
    return row


def clear_day(day: date, *, actor) -> None:
    row = db.session.get(CalendarDay, day)
    if row is not None:
        db.session.delete(row)
        audit.record("calendar.clear", actor=actor, object_type="calendar", object_id=day.isoformat())
    invalidate_calendar()


@bp.route("/", methods=["GET", "POST"])
@permission_required("calendar.admin")
def index():
    year = int(request.args.get("year") or date.today().year)
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError as exc:
            raise ValidationFailed("日期格式不正确", errors={"day": "请输入有效日期"}) from exc
        if request.form.get("action") == "clear":
            clear_day(day, actor=current_user)
        else:
            set_day(day, working=request.form.get("working") == "1", note=request.form.get("note"), actor=current_user)
        db.session.commit()
        invalidate_calendar()
        flash(f"已更新 {day.isoformat()}", "success")
        return redirect(url_for(".index", year=day.year))
    cal = get_calendar()
    holidays = sorted(d for d in cal.holidays if d.year == year)
    workdays = sorted(d for d in cal.workdays if d.year == year)
    overrides = db.session.scalars(select(CalendarDay).order_by(CalendarDay.day)).all()
    return render_template(
        "admin/calendar.html",
        year=year,
        holidays=holidays,
        workdays=workdays,
        overrides=[o for o in overrides if o.day.year == year],
    )
