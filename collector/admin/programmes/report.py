"""The campaign report download: PDF (embedded CJK font) or a printable HTML page."""

from __future__ import annotations

from flask import Response

from qr.fonts import FontMissing
from sync.programmes.report import build_report
from sync.programmes.report_html import report_html
from sync.programmes.report_pdf import report_pdf
from sync.programmes.scores import NoProgramme

from ...auth import admin_required
from ...errors import render_error
from ...extensions import db
from ...security import csp_nonce
from . import bp, campaign_or_404


@bp.get("/admin/campaigns/<int:campaign_id>/report.<any(pdf, html):fmt>")
@admin_required
def report(campaign_id: int, fmt: str):  # type: ignore[no-untyped-def]
    """:raise 404: unknown campaign or no programme yet. :raise 503: no CJK font installed."""
    campaign = campaign_or_404(campaign_id)
    try:
        data = build_report(db.session, campaign)
    except NoProgramme:
        return render_error(404, "请先设置评议方案。")
    if fmt == "html":
        return Response(report_html(data, csp_nonce()), mimetype="text/html")
    try:
        pdf = report_pdf(data)
    except FontMissing:
        return render_error(503, "服务器缺少中文字体，无法生成 PDF，"
                                 "请联系管理员安装 fonts-wqy-zenhei。")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=report-{campaign.id}.pdf"})
