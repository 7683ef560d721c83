"""案卷评查 over the API: the case list (the page's filters, paged, in the caller's data scope), one case with
its parties, violations, documents, automatic check results and reviews, a document's download, and the
XLSX import as the page runs it (every row checked; one bad row and nothing is imported)."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from app.api import bp, query, schema
from app.api.paging import Paged, page_body
from app.cases import io, review, services
from app.cases.routes import EDIT, READ
from app.errors import ValidationFailed
from app.extensions import db
from app.portal.paging import paginate
from app.security.access import permission_required

CASE_PARAM = [{"in": "path", "name": "case_id", "required": True, "schema": {"type": "integer"}}]


class CaseQuery(Schema):
    """The case list's query string (other parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    q = fields.Str(load_default="", validate=validate.Length(max=100, error="关键词不能超过 100 字"))
    type = fields.Str(
        load_default="",
        validate=validate.OneOf(["", "simple", "general"], error="应为 simple（简易程序）或 general（一般程序）"),
    )
    status = fields.Str(
        load_default="", validate=validate.OneOf(["", "open", "closed"], error="应为 open（办理中）或 closed（已结案）")
    )
    org = fields.Int(
        load_default=None,
        strict=False,
        validate=validate.Range(min=1, max=2**31 - 1, error="单位编号无效"),
        metadata={"description": "办案单位编号（含下级单位）"},
    )
    page = fields.Int(
        load_default=1, strict=False, validate=validate.Range(min=1, max=100000, error="页码应为 1 到 100000")
    )


class CaseBrief(Schema):
    id = fields.Int()
    number = fields.Str(metadata={"description": "案件编号"})
    title = fields.Str(metadata={"description": "案件名称"})
    case_type = fields.Str(metadata={"description": "simple 简易程序 / general 一般程序"})
    type_label = fields.Str()
    status = fields.Str(metadata={"description": "open 办理中 / closed 已结案"})
    status_label = fields.Str()
    org_id = fields.Int()
    org_name = fields.Str(attribute="org.name", metadata={"description": "办案单位"})
    officer = fields.Str(allow_none=True, attribute="officer.name", metadata={"description": "主办人"})
    filed_on = fields.Date(allow_none=True, metadata={"description": "立案日期"})
    closed_on = fields.Date(allow_none=True, metadata={"description": "结案日期"})
    submitted_at = fields.DateTime(allow_none=True, metadata={"description": "合格案卷报送时间"})


class CasePage(Paged):
    items = fields.List(fields.Nested(CaseBrief))


class CasePartySchema(Schema):
    kind = fields.Str(metadata={"description": "unit 单位 / person 个人（负责人）"})
    kind_label = fields.Str()
    name = fields.Str()
    id_code = fields.Str(allow_none=True, metadata={"description": "单位的统一社会信用代码；个人的职务"})
    penalty_yuan = fields.Int(allow_none=True, metadata={"description": "罚款（元），无罚款为 null"})


class CaseViolationSchema(Schema):
    code = fields.Str(allow_none=True, attribute="entry.code", metadata={"description": "违法行为编号"})
    title = fields.Str(attribute="entry.title", metadata={"description": "违法行为"})


class CaseDocumentSchema(Schema):
    id = fields.Int()
    doc_type = fields.Str()
    type_label = fields.Str(metadata={"description": "文书类型"})
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int(metadata={"description": "字节数"})
    sm3 = fields.Str(metadata={"description": "SM3 摘要"})
    uploaded_at = fields.DateTime()
    downloadable = fields.Method("_downloadable", metadata={"description": "有原件可下载（导入登记的文书为 false）"})

    def _downloadable(self, doc) -> bool:
        return bool(doc.path)


class CaseCheckSchema(Schema):
    code = fields.Str(metadata={"description": "检查项编号"})
    title = fields.Str(metadata={"description": "检查项"})
    points = fields.Float(metadata={"description": "分值"})
    check = fields.Str(allow_none=True, metadata={"description": "自动检查（空：人工评查项）"})
    auto = fields.Bool(allow_none=True, metadata={"description": "自动检查：true 通过 / false 未通过 / null 人工项"})
    auto_message = fields.Str(metadata={"description": "自动检查说明"})


class CaseReviewSchema(Schema):
    id = fields.Int()
    status = fields.Str(metadata={"description": "assigning / scoring / signoff / signed / returned"})
    status_label = fields.Str()
    rule_version = fields.Int(attribute="rule_set.version", metadata={"description": "所用评查规则版本"})
    reviewer = fields.Str(allow_none=True, attribute="reviewer.name", metadata={"description": "评查人"})
    total_score = fields.Float(allow_none=True)
    conclusion = fields.Str(allow_none=True, metadata={"description": "excellent / qualified / unqualified"})
    conclusion_label = fields.Str()
    started_at = fields.DateTime()
    signed_at = fields.DateTime(allow_none=True)
    instance_id = fields.Int(allow_none=True, metadata={"description": "评查流程实例"})


class CaseDetail(CaseBrief):
    facts = fields.Str(metadata={"description": "案情摘要"})
    source = fields.Str(metadata={"description": "manual 页面录入 / xlsx 导入"})
    dates = fields.Dict(
        keys=fields.Str(), values=fields.Date(allow_none=True), metadata={"description": "程序各环节日期"}
    )
    parties = fields.List(fields.Nested(CasePartySchema))
    violations = fields.List(fields.Nested(CaseViolationSchema))
    documents = fields.List(fields.Nested(CaseDocumentSchema))
    checks = fields.List(fields.Nested(CaseCheckSchema), metadata={"description": "按已发布评查规则的自动检查结果"})
    reviews = fields.List(fields.Nested(CaseReviewSchema))


class CaseImportResult(Schema):
    message = fields.Str()
    total = fields.Int(metadata={"description": "数据行数"})
    imported = fields.Int(metadata={"description": "导入（或按编号更新）的案件数"})


@bp.get("/cases")
@permission_required(*READ)
def list_cases():
    """The case list.
    ---
    get:
      tags: [案卷评查]
      summary: 案件列表
      description: 调用者数据范围内的案件（区大队只见本区，市总队见全部），条件与页面相同，分页（每页 20 条）。
      parameters:
        - {in: query, name: q, description: 案件编号、名称或当事人包含, schema: {type: string, maxLength: 100}}
        - {in: query, name: type, description: simple 简易程序 / general 一般程序,
           schema: {type: string, enum: [simple, general]}}
        - {in: query, name: status, description: open 办理中 / closed 已结案,
           schema: {type: string, enum: [open, closed]}}
        - {in: query, name: org, description: 办案单位编号（含下级单位）,
           schema: {type: integer, minimum: 1, maximum: 2147483647}}
        - {in: query, name: page, description: 页码, schema: {type: integer, minimum: 1, maximum: 100000}}
      responses:
        200: {description: 案件列表, content: {application/json: {schema: CasePage}}}
        422: Unprocessable
    """
    args = query(schema(CaseQuery))
    stmt, _ = services.list_from_args(current_user, {**args, "org": args["org"] or ""})
    page = paginate(stmt, str(args["page"]))
    return schema(CasePage).dump(page_body(page))


@bp.get("/cases/<int:case_id>")
@permission_required(*READ)
def show_case(case_id: int):
    """One case.
    ---
    get:
      tags: [案卷评查]
      summary: 案件详情
      description: 案件、当事人、违法行为、案卷文书（元数据）、按已发布评查规则的自动检查结果和历次评查。
        数据范围外的案件返回 403。
      parameters: [{in: path, name: case_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 案件, content: {application/json: {schema: CaseDetail}}}
    """
    from app.cases.models import STEPS

    case = services.get_case(case_id, current_user)
    return schema(CaseDetail).dump(
        {
            **{c: getattr(case, c) for c in CaseBrief._declared_fields if c not in ("org_name", "officer")},
            "org": case.org,
            "officer": case.officer,
            "facts": case.facts or "",
            "source": case.source,
            "dates": {key: getattr(case, key) for key, _ in STEPS},
            "parties": case.parties,
            "violations": case.violations,
            "documents": case.documents,
            "checks": review.check_case(case),
            "reviews": review.reviews_of(case),
        }
    )


@bp.get("/cases/documents/<int:doc_id>")
@permission_required(*READ)
def case_document(doc_id: int):
    """A case document's file.
    ---
    get:
      tags: [案卷评查]
      summary: 下载案卷文书
      description: 文书原件（PDF、JPEG、PNG 或 Word）。所属案件在数据范围外返回 403；导入登记的文书没有原件，返回 404。
      parameters: [{in: path, name: doc_id, required: true, schema: {type: integer}}]
      responses:
        200:
          description: 文书文件
          content:
            application/pdf: {schema: {type: string, format: binary}}
            image/jpeg: {schema: {type: string, format: binary}}
            image/png: {schema: {type: string, format: binary}}
            application/vnd.openxmlformats-officedocument.wordprocessingml.document:
              {schema: {type: string, format: binary}}
    """
    return services.send_document(services.get_document(doc_id, current_user))


@bp.post("/cases/import")
@permission_required(*EDIT)
def import_cases():
    """Import cases from an XLSX file.
    ---
    post:
      tags: [案卷评查]
      summary: 导入案件（XLSX）
      description: 按导入模板（页面“导入”可下载）填写的 Excel 文件，multipart 字段 file。已有编号的案件按编号更新。
        逐行校验；任何一行有误则整个文件都不导入，返回 422，errors 按“第 n 行 列名”列出每个问题。
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, required: [file], properties: {file: {type: string, format: binary}}}
      responses:
        201: {description: 已导入, content: {application/json: {schema: CaseImportResult}}}
    """
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("请上传 Excel 文件（字段 file）", errors={"file": "必填项"})
    report = io.import_cases(file.read(), current_user)
    if not report.ok:
        db.session.rollback()
        if not report.total:
            raise ValidationFailed("文件中没有数据行，没有导入任何案件", errors={"file": "没有数据行"})
        errors: dict[str, str] = {}
        for p in report.problems:
            key = f"第 {p.row} 行" + (f" {p.column}" if p.column else "")
            errors[key] = f"{errors[key]}；{p.message}" if key in errors else p.message
        raise ValidationFailed(
            f"{len({p.row for p in report.problems})} 行有问题，整个文件没有导入，请修改后重新上传", errors=errors
        )
    db.session.commit()
    return schema(CaseImportResult).dump(
        {
            "message": f"已导入 {report.imported} 件案件（已有编号的案件已更新）",
            "total": report.total,
            "imported": report.imported,
        }
    ), 201
