"""The programme and scores page, imports of method scores and deductions, the scores API."""

from __future__ import annotations

import json
from datetime import date

from flask import flash, jsonify, redirect, render_template, request, url_for

from sync.audit import snapshot
from sync.models import Campaign
from sync.programmes.deductions import (
    AUDIT_FIELDS,
    add_deduction,
    list_deductions,
    withdraw_deduction,
)
from sync.programmes.models import Deduction
from sync.programmes.programme import (
    DEFAULT_GRADES,
    ProgrammeError,
    apply_programme,
    parse_programme,
    programme_spec,
)
from sync.programmes.scores import NoProgramme, campaign_scores
from sync.programmes.sheets import import_deductions, import_method_scores_audited
from sync.unit_sheet import SheetError

from ...audit import audit
from ...auth import admin_required, current_user
from ...errors import render_error
from ...extensions import db
from . import bp, campaign_or_404

EXAMPLE = {"methods": [{"key": "hall", "name": "政务服务中心测评", "weight": 1,
                        "channels": ["online"]}],
           "deduction_caps": {"纪委监委": None, "媒体": 5}, "grades": DEFAULT_GRADES,
           "bottom_n": 3}


def _who() -> str:
    user = current_user()
    return user.username if user else "?"


@bp.get("/api/v1/admin/campaigns/<int:campaign_id>/scores")
@admin_required
def scores_api(campaign_id: int):  # type: ignore[no-untyped-def]
    """The scores array of `collector scores --json`.

    :raise 404: unknown campaign, or no programme yet (JSON).
    """
    campaign = campaign_or_404(campaign_id)
    try:
        return jsonify(campaign_scores(db.session, campaign).to_json())
    except NoProgramme:
        return render_error(404, "该评议活动尚未设置评议方案。", "no_programme")


def _programme_page(campaign: Campaign, text: str | None = None, error: str | None = None):  # type: ignore[no-untyped-def]
    spec = programme_spec(db.session, campaign)
    if text is None:
        text = json.dumps(spec.to_json() if spec else EXAMPLE, ensure_ascii=False, indent=1)
    scores = campaign_scores(db.session, campaign) if spec else None
    return render_template("admin/programmes/programme.html", campaign=campaign, spec=spec,
                           programme_text=text, programme_error=error, scores=scores,
                           deductions=list_deductions(db.session, campaign) if spec else [],
                           today=date.today()), (422 if error else 200)


@bp.get("/admin/campaigns/<int:campaign_id>/programme")
@admin_required
def programme(campaign_id: int):  # type: ignore[no-untyped-def]
    """Programme editor, scores per method and composite, deductions."""
    return _programme_page(campaign_or_404(campaign_id))


@bp.post("/admin/campaigns/<int:campaign_id>/programme")
@admin_required
def save_programme(campaign_id: int):  # type: ignore[no-untyped-def]
    """Replace the programme with the posted JSON; refused whole (422, text kept) when malformed."""
    campaign = campaign_or_404(campaign_id)
    text = request.form.get("programme", "")
    before = programme_spec(db.session, campaign)
    try:
        spec = parse_programme(json.loads(text))
        apply_programme(db.session, campaign, spec)
    except json.JSONDecodeError as exc:
        db.session.rollback()
        return _programme_page(campaign, text,
                               f"评议方案不是有效的 JSON（第{exc.lineno}行第{exc.colno}列）。")
    except RecursionError:
        db.session.rollback()
        return _programme_page(campaign, text, "评议方案嵌套层次过深。")
    except ProgrammeError as exc:
        db.session.rollback()
        return _programme_page(campaign, text, exc.message)
    audit("programme.update", "programme", campaign.id, campaign_id=campaign.id,
          before=before.to_json() if before else None, after=spec.to_json())
    db.session.commit()
    flash("评议方案已保存。")
    return redirect(url_for(".programme", campaign_id=campaign.id))


def _upload() -> tuple[str, bytes] | None:
    file = request.files.get("file")
    if file is None or not file.filename:
        return None
    return file.filename, file.read()


@bp.post("/admin/campaigns/<int:campaign_id>/method-scores")
@admin_required
def upload_method_scores(campaign_id: int):  # type: ignore[no-untyped-def]
    """Import one imported method's scores from a sheet (单位代码, 得分)."""
    campaign = campaign_or_404(campaign_id)
    upload = _upload()
    if upload is None:
        flash("请选择要导入的文件。", "error")
    else:
        try:
            method = request.form.get("method", "")
            before, after = import_method_scores_audited(db.session, campaign, method, *upload)
            audit("method_scores.import", "programme", campaign.id, campaign_id=campaign.id,
                  before=before, after=after)
            db.session.commit()
            flash(f"已导入 {after['units']} 个单位的得分。")
        except SheetError as exc:
            db.session.rollback()
            flash("导入失败，未作任何更改：" + "；".join(exc.errors), "error")
    return redirect(url_for(".programme", campaign_id=campaign.id))


@bp.post("/admin/campaigns/<int:campaign_id>/deductions")
@admin_required
def add_deductions(campaign_id: int):  # type: ignore[no-untyped-def]
    """Add one deduction from the form, or every row of an uploaded sheet."""
    campaign = campaign_or_404(campaign_id)
    upload = _upload()
    try:
        if upload is not None:
            added = import_deductions(db.session, campaign, *upload, entered_by=_who())
            message = f"已导入 {len(added)} 条减分。"
        else:
            day_text = request.form.get("day", "").strip()
            try:
                day = date.fromisoformat(day_text) if day_text else None
            except ValueError:
                raise ProgrammeError(f"日期“{day_text}”格式不正确。") from None
            added = [add_deduction(
                db.session, campaign, request.form.get("unit", "").strip(),
                request.form.get("source", ""), request.form.get("points", ""),
                request.form.get("reason", ""), day, request.form.get("evidence"), _who())]
            message = "已添加减分。"
        for deduction in added:
            audit("deduction.create", "deduction", deduction.id, campaign_id=campaign.id,
                  after=snapshot(deduction, AUDIT_FIELDS))
        db.session.commit()
        flash(message)
    except SheetError as exc:
        db.session.rollback()
        flash("导入失败，未作任何更改：" + "；".join(exc.errors), "error")
    except ProgrammeError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for(".programme", campaign_id=campaign.id) + "#deductions")


@bp.post("/admin/campaigns/<int:campaign_id>/deductions/<int:deduction_id>/withdraw")
@admin_required
def withdraw(campaign_id: int, deduction_id: int):  # type: ignore[no-untyped-def]
    """Withdraw a deduction with a reason (it stays listed, struck through)."""
    campaign = campaign_or_404(campaign_id)
    deduction = db.session.get(Deduction, deduction_id)
    if deduction is None or deduction.campaign_id != campaign.id:
        return render_error(404)
    before = snapshot(deduction, AUDIT_FIELDS)
    try:
        withdraw_deduction(deduction, request.form.get("reason", ""))
        audit("deduction.withdraw", "deduction", deduction.id, campaign_id=campaign.id,
              before=before, after=snapshot(deduction, AUDIT_FIELDS))
        db.session.commit()
        flash("已撤销该减分。")
    except ProgrammeError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for(".programme", campaign_id=campaign.id) + "#deductions")
