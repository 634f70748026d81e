"""Campaign set-up pages (admins only): campaigns, categories, units, unit import, questionnaire."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from sync.audit import (
    CAMPAIGN_FIELDS,
    CATEGORY_FIELDS,
    UNIT_FIELDS,
    questionnaire_snapshot,
    snapshot,
)
from sync.campaigns import (
    SetupError,
    add_category,
    add_unit,
    create_campaign,
    rename_category,
    update_campaign,
    update_unit,
)
from sync.clock import local_today
from sync.models import Campaign, CampaignStatus, Category, Response, Unit
from sync.questionnaires import (
    ChoiceEdit,
    ItemEdit,
    QuestionnaireEdit,
    edit_questionnaire,
    editable_in_place,
    use_template,
)
from sync.unit_sheet import HEADERS, SheetError, import_units

from ..audit import audit
from ..auth import admin_required
from ..extensions import db
from . import bp
from .forms import (
    STATUS_LABELS,
    CampaignForm,
    CategoryForm,
    ImportForm,
    NewCampaignForm,
    TemplateForm,
    UnitForm,
    choices,
)

NEW_ITEM_ROWS = 3
#: a new campaign's proposed length, the close date a cadre then adjusts
NEW_CAMPAIGN_DAYS = 30


def campaign_or_404(campaign_id: int) -> Campaign:
    """:raise 404: no such campaign."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _campaign_fields(form: CampaignForm) -> dict:
    fields = {"title": form.title.data.strip(), "year": form.year.data,
              "opens_on": form.opens_on.data, "closes_on": form.closes_on.data,
              "supervision_phone": (form.supervision_phone.data or "").strip() or None,
              "bottom_n": form.bottom_n.data, "status": CampaignStatus(form.status.data)}
    if form.min_seconds.data is not None:  # left empty: keep the setting (default 8)
        fields["min_seconds"] = form.min_seconds.data
    if form.min_ratings.data is not None:  # left empty: keep the setting (default 30)
        fields["min_ratings"] = form.min_ratings.data
    return fields


@bp.get("/campaigns")
@admin_required
def campaigns():  # type: ignore[no-untyped-def]
    """List campaigns with their unit and rating counts."""
    ratings = dict(db.session.execute(
        select(Response.campaign_id, func.count()).group_by(Response.campaign_id)).all())
    units = dict(db.session.execute(
        select(Unit.campaign_id, func.count()).group_by(Unit.campaign_id)).all())
    rows = db.session.scalars(select(Campaign).order_by(Campaign.year.desc(),
                                                        Campaign.id.desc())).all()
    return render_template("admin/campaigns/list.html", campaigns=rows, ratings=ratings,
                           units=units, status_labels=STATUS_LABELS)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@admin_required
def new_campaign():  # type: ignore[no-untyped-def]
    """Create a campaign with a questionnaire from a built-in template."""
    today = local_today()  # a fresh form proposes this year and a month from today
    form = (NewCampaignForm() if request.method == "POST" else
            NewCampaignForm(year=today.year, opens_on=today,
                            closes_on=today + timedelta(days=NEW_CAMPAIGN_DAYS)))
    if form.validate_on_submit():
        fields = _campaign_fields(form)
        campaign = create_campaign(db.session, fields.pop("title"), fields.pop("year"),
                                   form.template.data, **fields)
        audit("campaign.create", "campaign", campaign.id, campaign_id=campaign.id,
              after={**snapshot(campaign, CAMPAIGN_FIELDS), "template": form.template.data})
        db.session.commit()
        flash(f"已创建评议活动“{campaign.title}”，请添加评议对象。")
        return redirect(url_for("admin.units", campaign_id=campaign.id))
    return render_template("admin/campaigns/new.html", form=form), 422 if form.errors else 200


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@admin_required
def campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    """Show and edit a campaign's settings (title, year, dates, phone, bottom N, status)."""
    campaign = campaign_or_404(campaign_id)
    form = CampaignForm(obj=campaign, status=campaign.status.value)
    if form.validate_on_submit():
        before = snapshot(campaign, CAMPAIGN_FIELDS)
        try:
            update_campaign(campaign, **_campaign_fields(form))
        except SetupError as exc:
            form.closes_on.errors = [str(exc)]
        else:
            audit("campaign.update", "campaign", campaign.id, campaign_id=campaign.id,
                  before=before, after=snapshot(campaign, CAMPAIGN_FIELDS))
            db.session.commit()
            flash("已保存。")
            return redirect(url_for("admin.campaign", campaign_id=campaign.id))
    return render_template("admin/campaigns/edit.html", campaign=campaign, form=form,
                           status_labels=STATUS_LABELS), 422 if form.errors else 200


def _units_page(campaign: Campaign, status: int = 200, **forms):  # type: ignore[no-untyped-def]
    unit_form = forms.get("unit_form") or UnitForm(formdata=None)
    unit_form.category_id.choices = choices((c.id, c.name) for c in campaign.categories)
    return render_template(
        "admin/campaigns/units.html", campaign=campaign, unit_form=unit_form,
        category_form=forms.get("category_form") or CategoryForm(formdata=None),
        import_form=forms.get("import_form") or ImportForm(formdata=None),
        import_errors=forms.get("import_errors", []), headers=HEADERS), status


@bp.get("/campaigns/<int:campaign_id>/units")
@admin_required
def units(campaign_id: int):  # type: ignore[no-untyped-def]
    """Categories and units of a campaign, with forms to add and import them."""
    return _units_page(campaign_or_404(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/categories")
@admin_required
def create_category(campaign_id: int):  # type: ignore[no-untyped-def]
    """Add a category."""
    campaign = campaign_or_404(campaign_id)
    form = CategoryForm()
    if form.validate():
        try:
            category = add_category(db.session, campaign, form.name.data)
        except SetupError as exc:
            form.name.errors = [str(exc)]
        else:
            audit("category.create", "category", category.id, campaign_id=campaign.id,
                  after=snapshot(category, CATEGORY_FIELDS))
            db.session.commit()
            flash(f"已添加类别“{form.name.data.strip()}”。")
            return redirect(url_for("admin.units", campaign_id=campaign.id))
    return _units_page(campaign, 422, category_form=form)


@bp.post("/campaigns/<int:campaign_id>/categories/<int:category_id>")
@admin_required
def edit_category(campaign_id: int, category_id: int):  # type: ignore[no-untyped-def]
    """Rename a category."""
    campaign = campaign_or_404(campaign_id)
    category = db.session.get(Category, category_id)
    if category is None or category.campaign_id != campaign.id:
        abort(404)
    form = CategoryForm()
    if form.validate():
        before = snapshot(category, CATEGORY_FIELDS)
        try:
            rename_category(campaign, category, form.name.data)
        except SetupError as exc:
            form.name.errors = [str(exc)]
        else:
            audit("category.update", "category", category.id, campaign_id=campaign.id,
                  before=before, after=snapshot(category, CATEGORY_FIELDS))
            db.session.commit()
            flash("类别已改名。")
            return redirect(url_for("admin.units", campaign_id=campaign.id))
    return _units_page(campaign, 422, category_form=form)


@bp.post("/campaigns/<int:campaign_id>/units")
@admin_required
def create_unit(campaign_id: int):  # type: ignore[no-untyped-def]
    """Add one unit."""
    campaign = campaign_or_404(campaign_id)
    form = UnitForm()
    form.category_id.choices = choices((c.id, c.name) for c in campaign.categories)
    if not campaign.categories:
        form.category_id.errors = ["请先添加类别。"]
    elif form.validate():
        category = next(c for c in campaign.categories if c.id == form.category_id.data)
        try:
            unit = add_unit(db.session, campaign, category, form.code.data, form.name.data)
        except SetupError as exc:
            form.code.errors = [str(exc)]
        else:
            audit("unit.create", "unit", unit.id, campaign_id=campaign.id,
                  after=snapshot(unit, UNIT_FIELDS))
            db.session.commit()
            flash(f"已添加评议对象“{form.name.data.strip()}”。")
            return redirect(url_for("admin.units", campaign_id=campaign.id))
    return _units_page(campaign, 422, unit_form=form)


@bp.get("/units-sample.csv")
@admin_required
def unit_sheet_sample():  # type: ignore[no-untyped-def]
    """A sample unit sheet to fill in: the header row and a few rows from seed 001."""
    rows = [",".join(HEADERS), "党群工作部门,DQ01,组织部", "政府工作部门,ZF01,市场监管局",
            "企事业单位,QY01,供电公司", "中直单位,ZZ01,税务局"]
    return FlaskResponse("\ufeff" + "\r\n".join(rows) + "\r\n", mimetype="text/csv; charset=utf-8",
                         headers={"Content-Disposition": "attachment; filename=units-sample.csv"})


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_unit(unit_id: int):  # type: ignore[no-untyped-def]
    """Rename a unit, move it to another category, or change its code before links exist."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    form = UnitForm(obj=unit)
    form.category_id.choices = choices((c.id, c.name) for c in unit.campaign.categories)
    if form.validate_on_submit():
        category = next(c for c in unit.campaign.categories if c.id == form.category_id.data)
        before = snapshot(unit, UNIT_FIELDS)
        try:
            update_unit(db.session, unit, category, form.code.data, form.name.data)
        except SetupError as exc:
            form.code.errors = [str(exc)]
        else:
            audit("unit.update", "unit", unit.id, campaign_id=unit.campaign_id,
                  before=before, after=snapshot(unit, UNIT_FIELDS))
            db.session.commit()
            flash("已保存。")
            return redirect(url_for("admin.units", campaign_id=unit.campaign_id))
    return render_template("admin/campaigns/unit_edit.html", unit=unit, form=form), \
        422 if form.errors else 200


@bp.post("/campaigns/<int:campaign_id>/units/import")
@admin_required
def import_unit_sheet(campaign_id: int):  # type: ignore[no-untyped-def]
    """Import units from an .xlsx or .csv sheet; one bad row refuses the whole sheet."""
    campaign = campaign_or_404(campaign_id)
    form = ImportForm()
    if not form.validate():
        return _units_page(campaign, 422, import_form=form)
    upload = form.sheet.data
    try:
        added = import_units(db.session, campaign, upload.filename or "", upload.read())
    except SheetError as exc:
        db.session.rollback()
        return _units_page(campaign, 422, import_errors=exc.errors)
    audit("unit_sheet.import", "campaign", campaign.id, campaign_id=campaign.id,
          after={"filename": upload.filename, "units": [u.code for u in added],
                 "categories": {u.code: u.category.name for u in added}})
    db.session.commit()
    flash(f"已导入 {len(added)} 个评议对象。")
    return redirect(url_for("admin.units", campaign_id=campaign.id))


def _rows(prefix: str) -> list[int]:
    """Row numbers N of posted fields PREFIX-N-*, in order."""
    return sorted({int(m.group(1)) for k in request.form
                   if (m := re.fullmatch(prefix + r"-([0-9]{1,4})-\w+", k))})


def _int(name: str, default: int | None) -> int | None:
    """A posted whole number; absent gives the default, anything else -1 (out of every range,
    so the check names the field and its range)."""
    if name not in request.form:
        return default
    value = request.form.get(name, "").strip()
    return int(value) if value.lstrip("-").isdigit() and len(value) < 6 else -1


def _posted_items() -> list[ItemEdit]:
    """Read the questionnaire table: rows item-N-*, sorted by their 序号, skipping removed and
    blank new rows."""
    items = []
    for n in _rows("item"):
        key = request.form.get(f"item-{n}-key") or None
        label = request.form.get(f"item-{n}-label", "")
        if request.form.get(f"item-{n}-remove") or (key is None and not label.strip()):
            continue
        order = _int(f"item-{n}-order", n + 1)
        items.append((order, n, ItemEdit(
            label=label, required=bool(request.form.get(f"item-{n}-required")), key=key,
            weight=_int(f"item-{n}-weight", None))))
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]))]


def _posted_choices(prefix: str, scored: bool = False) -> list[ChoiceEdit] | None:
    """Identity (ident-N-*) or level (level-N-*) rows; a blank label removes the row.
    None when the form has no such rows (nothing to change)."""
    rows = _rows(prefix)
    if not rows:
        return None
    return [ChoiceEdit(label=request.form.get(f"{prefix}-{n}-label", ""),
                       key=request.form.get(f"{prefix}-{n}-key") or None,
                       score=(_int(f"{prefix}-{n}-score", -1) or 0) if scored else 0)
            for n in rows if request.form.get(f"{prefix}-{n}-label", "").strip()]


@bp.route("/campaigns/<int:campaign_id>/questionnaire", methods=["GET", "POST"])
@admin_required
def questionnaire(campaign_id: int):  # type: ignore[no-untyped-def]
    """Edit the items of the questionnaire; once it has answers, edits make a new version."""
    campaign = campaign_or_404(campaign_id)
    error = None
    if request.method == "POST":  # CSRFProtect has checked the token already
        edit = QuestionnaireEdit(
            title=request.form.get("title", ""),
            comment_label=request.form.get("comment_label", ""),
            identity_required=bool(request.form.get("identity_required")),
            items=_posted_items(), identities=_posted_choices("ident"),
            levels=_posted_choices("level", scored=True))
        before = campaign.questionnaire
        before_snapshot = questionnaire_snapshot(before)
        try:
            after = edit_questionnaire(db.session, campaign, edit)
        except SetupError as exc:
            error = str(exc)
        else:
            audit("questionnaire.update", "questionnaire", after.id, campaign_id=campaign.id,
                  before=before_snapshot, after=questionnaire_snapshot(after))
            db.session.commit()
            flash(f"问卷已保存为第 {after.version} 版，已收到的评议结果不受影响。"
                  if after is not before else "问卷已保存。")
            return redirect(url_for("admin.questionnaire", campaign_id=campaign.id))
    return render_template(
        "admin/campaigns/questionnaire.html", campaign=campaign, q=campaign.questionnaire,
        template_form=TemplateForm(formdata=None), error=error,
        versioned=not editable_in_place(db.session, campaign),
        new_rows=NEW_ITEM_ROWS), 422 if error else 200


@bp.post("/campaigns/<int:campaign_id>/questionnaire/template")
@admin_required
def questionnaire_template(campaign_id: int):  # type: ignore[no-untyped-def]
    """Replace the questionnaire with a built-in template (the old one stays for its answers)."""
    campaign = campaign_or_404(campaign_id)
    form = TemplateForm()
    if not form.validate():
        abort(400)
    before = questionnaire_snapshot(campaign.questionnaire)
    try:
        new = use_template(db.session, campaign, form.template.data)
    except SetupError:
        abort(400)
    audit("questionnaire.template", "questionnaire", new.id, campaign_id=campaign.id,
          before=before, after={**questionnaire_snapshot(new), "template": form.template.data})
    db.session.commit()
    flash(f"已改用模板“{new.title}”。")
    return redirect(url_for("admin.questionnaire", campaign_id=campaign.id))
