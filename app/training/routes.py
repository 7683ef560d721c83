"""技能拉练 pages for candidates and markers: competitions, the paper (autosave, resume, submit), rankings,
the certificate, practice and the wrong-answer book, and marking. Admin pages: routes_admin.py."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied
from app.extensions import db
from app.models_base import utcnow
from app.security.access import permission_required
from app.training import bank, compete, marking, practice, results
from app.training.models import DIFFICULTY, QTYPES, Competition, Paper, Question

bp = Blueprint("training", __name__, url_prefix="/training")
USE = ("training.use", "training.admin")
MARK = ("training.mark", "training.admin")
ADMIN = ("training.admin",)


def now():
    """The clock of every route (one place, so tests may move it with time-machine)."""
    return utcnow()


def _competition(comp_id: int) -> Competition:
    comp = db.session.get(Competition, comp_id)
    if comp is None:
        raise NotFound("比武不存在")
    return comp


@bp.get("/")
@permission_required(*USE, *MARK)
def index():
    t = now()
    comps = list(db.session.scalars(select(Competition).order_by(Competition.starts_at.desc())))
    mine = {c.id: compete.current_paper(c, current_user) for c in comps}
    return render_template(
        "training/index.html",
        comps=comps,
        mine=mine,
        phase=lambda c: compete.phase(c, t),
        eligible=lambda c: compete.eligible(c, current_user),
        local=compete.local,
        summary=practice.my_summary(current_user),
        to_mark=len(marking.my_papers(current_user)) if current_user.can("training.mark") else 0,
    )


@bp.get("/competitions/<int:comp_id>")
@permission_required(*USE)
def competition(comp_id: int):
    comp = _competition(comp_id)
    return render_template(
        "training/competition.html",
        comp=comp,
        phase=compete.phase(comp, now()),
        paper=compete.current_paper(comp, current_user),
        eligible=compete.eligible(comp, current_user),
        qtypes=QTYPES,
        local=compete.local,
    )


@bp.post("/competitions/<int:comp_id>/paper")
@permission_required(*USE)
def start_paper(comp_id: int):
    paper = compete.start_or_resume(_competition(comp_id), current_user, now())
    db.session.commit()
    return redirect(url_for("training.paper", paper_id=paper.id), 303)


@bp.get("/papers/<int:paper_id>")
@permission_required(*USE)
def paper(paper_id: int):
    p = compete.load_paper(paper_id, current_user)
    t = now()
    if p.status == "answering" and t > p.deadline_at:
        compete.expire_overdue(p.competition, t)
        db.session.commit()
    return render_template(
        "training/paper.html",
        paper=p,
        remaining=compete.remaining_seconds(p, t),
        show_key=t > p.competition.ends_at,  # the answers only once nobody can still sit the paper
        local=compete.local,
        letters=bank.LETTERS,
    )


@bp.post("/papers/<int:paper_id>/answers")
@permission_required(*USE)
def save_answers(paper_id: int):
    """Autosave (JSON): {"answers": {question id: response}}; answers with the server's clock."""
    p = compete.load_paper(paper_id, current_user)
    body = request.get_json(silent=True) or {}
    t = now()
    changed = compete.save_answers(p, current_user, body.get("answers") or {}, t)
    db.session.commit()
    return jsonify(
        {"saved": changed, "version": p.version, "remaining": compete.remaining_seconds(p, t), "at": compete.local(t)}
    )


@bp.post("/papers/<int:paper_id>/submit")
@permission_required(*USE)
def submit(paper_id: int):
    p = compete.load_paper(paper_id, current_user)
    t = now()
    answers = {k.removeprefix("q_"): "".join(request.form.getlist(k)) for k in request.form if k.startswith("q_")}
    if answers:  # the last answers typed since the autosave; refused with the reason after the deadline
        compete.save_answers(p, current_user, answers, t)
    # exactly once: a second tab (or a double click) finds the paper submitted and gets a 409 with the time
    compete.submit(p, current_user, t)
    db.session.commit()
    return redirect(url_for("training.paper", paper_id=p.id), 303)


@bp.get("/competitions/<int:comp_id>/ranking")
@permission_required(*USE, *MARK)
def ranking(comp_id: int):
    comp = _competition(comp_id)
    if compete.expire_overdue(comp, now()):
        db.session.commit()
    people = results.person_ranking(comp)
    return render_template(
        "training/ranking.html",
        comp=comp,
        people=people,
        units=results.group_ranking(people, "unit"),
        districts=results.group_ranking(people, "district"),
    )


@bp.get("/papers/<int:paper_id>/certificate.pdf")
@permission_required(*USE)
def certificate(paper_id: int):
    from app.reports.render import render_pdf

    p = db.session.get(Paper, paper_id)
    if p is None:
        raise NotFound("试卷不存在")
    if p.user_id != current_user.id and not current_user.can("training.admin"):
        raise PermissionDenied("只能下载本人的成绩证书")
    if p.status != "scored":
        raise NotFound("试卷评分完成后才能下载成绩证书")
    data = render_pdf("training_certificate.html", results.certificate_context(p))
    return Response(
        data, mimetype="application/pdf", headers={"Content-Disposition": f"inline; filename=certificate-{p.code}.pdf"}
    )


# --------------------------------------------------------------------------------------------- practice


@bp.get("/practice")
@permission_required(*USE)
def practice_home():
    return render_template(
        "training/practice_home.html",
        facets=bank.facets(),
        difficulty=DIFFICULTY,
        summary=practice.my_summary(current_user),
        book=practice.wrong_book(current_user),
    )


@bp.get("/practice/run")
@permission_required(*USE)
def practice_run():
    ids = practice.pick(
        current_user,
        law=request.args.get("law", ""),
        industry=request.args.get("industry", ""),
        difficulty=request.args.get("difficulty", type=int),
        wrong_book=request.args.get("book") == "1",
    )
    questions = list(db.session.scalars(select(Question).where(Question.id.in_(ids))))
    return render_template("training/practice_run.html", questions=questions, letters=bank.LETTERS)


@bp.post("/practice/answer/<int:question_id>")
@permission_required(*USE)
def practice_answer(question_id: int):
    values = request.form.getlist("response")
    result = practice.answer(current_user, question_id, "".join(values), now())
    db.session.commit()
    return render_template("training/_feedback.html", **result, letters=bank.LETTERS)


# --------------------------------------------------------------------------------------------- marking


@bp.get("/marking")
@permission_required(*MARK)
def marking_list():
    return render_template("training/marking_list.html", items=marking.my_papers(current_user), local=compete.local)


@bp.get("/marking/paper/<int:paper_id>")
@permission_required(*MARK)
def marking_form(paper_id: int):
    p, _row, cases = marking.load_for_marker(paper_id, current_user)
    return render_template("training/marking_form.html", paper=p, cases=cases, errors={})


@bp.post("/marking/paper/<int:paper_id>")
@permission_required(*MARK)
def marking_save(paper_id: int):
    scores = {k.removeprefix("score_"): v for k, v in request.form.items() if k.startswith("score_")}
    comments = {k.removeprefix("comment_"): v for k, v in request.form.items() if k.startswith("comment_")}
    p = marking.mark_paper(paper_id, current_user, scores, comments, now())
    db.session.commit()
    from flask import flash

    flash(f"试卷 {p.code} 评分完成", "success")
    return redirect(url_for("training.marking_list"), 303)


from app.training import routes_admin  # noqa: E402  (the admin pages on the same blueprint)

routes_admin.register(bp)
