"""The campaign report as a PDF (A4 landscape) with the CJK font embedded, charts included."""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from qr.fonts import register_cjk_font

from .report import ReportData
from .report_html import points

GREEN = colors.HexColor("#07c160")
RED = colors.HexColor("#fa5151")
PINK = colors.HexColor("#fff1f0")
PAGE = landscape(A4)


class _Styles:
    def __init__(self, font: str) -> None:
        base = {"fontName": font, "wordWrap": "CJK"}
        self.title = ParagraphStyle("title", fontSize=18, leading=24, alignment=1, **base)
        self.h2 = ParagraphStyle("h2", fontSize=13, leading=18, spaceBefore=10, spaceAfter=4,
                                 textColor=colors.HexColor("#05804a"), **base)
        self.h3 = ParagraphStyle("h3", fontSize=11, leading=15, spaceBefore=6, spaceAfter=2, **base)
        self.body = ParagraphStyle("body", fontSize=9, leading=13, **base)
        self.cell = ParagraphStyle("cell", fontSize=8, leading=10, **base)
        self.muted = ParagraphStyle("muted", fontSize=8, leading=11,
                                    textColor=colors.HexColor("#666666"), **base)


def _esc(text: Any) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _table(rows: list[list[Any]], styles: _Styles, widths: list[float] | None = None,
           shaded: list[int] = ()) -> Table:  # type: ignore[assignment]
    cells = [[Paragraph(_esc(c), styles.cell) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    commands += [("BACKGROUND", (0, r), (-1, r), PINK) for r in shaded]
    table.setStyle(TableStyle(commands))
    return table


def _chart(units: list[Any], font: str) -> Drawing:
    """Horizontal bars of composite scores; units at the bottom in red."""
    scored = [u for u in units if u.score is not None]
    row = 14
    height = max(len(scored), 1) * row + 30
    drawing = Drawing(PAGE[0] - 40 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 60 * mm, 15
    chart.width, chart.height = PAGE[0] - 140 * mm, height - 25
    chart.data = [[max(float(u.score), 0) for u in reversed(scored)] or [0]]
    chart.categoryAxis.categoryNames = [u.name for u in reversed(scored)] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = GREEN
    chart.bars[0].strokeColor = None
    for index, unit in enumerate(reversed(scored)):
        if "overall" in unit.bottom:
            chart.bars[(0, index)].fillColor = RED
    chart.barLabelFormat = "%.2f"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


def _method_name(spec: Any, key: str) -> str:
    return "综合得分" if key == "overall" else next(m.name for m in spec.methods if m.key == key)


def _story(data: ReportData, s: _Styles, font: str) -> list[Flowable]:
    spec = data.scores.spec
    story: list[Flowable] = [
        Paragraph(_esc(f"{data.campaign.title} 评议结果报告"), s.title),
        Paragraph(_esc(f"{data.campaign.year} 年度 · 生成于 "
                       f"{data.generated_at:%Y-%m-%d %H:%M}（北京时间）"), s.muted),
        Paragraph("一、评议方式与回收情况", s.h2),
        _table([["测评方式", "权重", "得分来源", "评议条数 / 有得分单位"]] + [
            [m.name, f"{m.weight:g}",
             "评议数据：" + "、".join(m.channels) if m.source == "ratings" else "导入得分",
             f"{m.count} 条" if m.source == "ratings" else f"{m.count} 个单位"]
            for m in data.methods], s),
        Spacer(1, 4),
        _table([[label for label, _ in data.channel_counts],
                [str(n) for _, n in data.channel_counts]], s),
        Paragraph("二、综合得分与排名", s.h2),
        Paragraph(_esc("综合得分 = 各测评方式得分加权平均（缺少得分的方式不计入）"
                       "- 减分（按来源封顶）；类别内排名，同分同名次；"
                       f"每种方式和综合得分后 {spec.bottom_n} 名列为重点跟踪对象。"),
                  s.muted),
    ]
    for category, units in data.scores.categories:
        header = ["名次", "单位", *[m.name for m in spec.methods], "减分前", "减分", "综合得分",
                  "等次", "标记"]
        rows, shaded = [header], []
        for u in units:
            marks = ([f"前{spec.top_n}名"] if u.top else []) + (
                ["综合末位"] if "overall" in u.bottom else []) + (
                ["连续两轮末位"] if u.bottom_twice else [])
            cells = [str(u.rank or "—"), u.name]
            for m in spec.methods:
                r = u.methods.get(m.key)
                cells.append("—" if r is None else
                             f"{points(r.score)}（{r.rank}）" + ("末位" if r.bottom else ""))
            cells += [points(u.before_deductions), points(u.deducted), points(u.score),
                      u.grade or "—", " ".join(marks)]
            if "overall" in u.bottom:
                shaded.append(len(rows))
            rows.append(cells)
        story += [KeepTogether([Paragraph(_esc(category), s.h3), _chart(units, font)]),
                  _table(rows, s, shaded=shaded)]

    story.append(Paragraph("三、重点跟踪对象", s.h2))
    tracked = [[category, u.name, "、".join(_method_name(spec, k) for k in u.bottom),
                "是（予以通报）" if u.bottom_twice else ""]
               for category, units in data.scores.categories for u in units if u.bottom]
    story.append(_table([["类别", "单位", "末位方式", "连续两轮"], *tracked], s)
                 if tracked else Paragraph("无。", s.body))

    story.append(Paragraph("四、减分情况", s.h2))
    story.append(_table([["单位", "来源", "分值", "事由", "日期"]] + [
        [d.unit.name, d.source, points(d.points),
         d.reason + (f"（已撤销：{d.withdrawn_reason}）" if d.withdrawn_at else ""),
         str(d.day or "")] for d in data.deductions], s, [50 * mm, 25 * mm, 18 * mm, 120 * mm,
                                                          25 * mm])
                 if data.deductions else Paragraph("无减分。", s.body))

    story.append(Paragraph("五、意见建议与整改进度", s.h2))
    progress = "，".join(f"{label} {n} 条" for label, n in data.follow_ups)
    story.append(Paragraph(_esc(f"整改台账共 {data.comments} 条：{progress}。"), s.body))
    story.append(Paragraph("意见建议高频词", s.h3))
    story.append(_table([["词语", "提及条数"], *[[w, str(n)] for w, n in data.themes]], s,
                        [40 * mm, 25 * mm]) if data.themes else Paragraph("暂无意见建议。", s.body))
    return story


def report_pdf(data: ReportData) -> bytes:
    """Render the report. :raise FontMissing: no CJK font to embed."""
    font = register_cjk_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=PAGE, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"{data.campaign.title} 评议结果报告", author="评议收集器")

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(PAGE[0] - 15 * mm, 6 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    doc.build(_story(data, _Styles(font), font), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
