"""The campaign report renders as HTML and as a PDF whose Chinese text survives extraction."""

from __future__ import annotations

import subprocess

from sync.programmes.report import build_report


def test_pdf_report_renders_to_png_and_its_chinese_text_extracts(runner, seed004, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "--campaign", str(seed004.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")

    subprocess.run(["pdftoppm", "-png", "-r", "40", str(out), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.read_bytes().startswith(b"\x89PNG") for p in pages)

    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, timeout=120,
                          capture_output=True, text=True).stdout
    for expected in ("测试评议活动 评议结果报告", "政府工作部门", "中直单位", "市场监管局", "城管局",
                     "第三方测评", "政务服务中心测评", "两代表一委员评议", "网络及跟踪评议",
                     "重点跟踪对象", "推诿扯皮导致二次投诉", "满意", "不满意", "意见建议高频词",
                     "窗口", "95.90", "54.80"):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(out)], check=True, capture_output=True, text=True,
                           timeout=60).stdout
    # The CJK font is embedded (a subset), not merely named.
    assert any("WenQuanYi" in line and line.split()[-5] == "yes" for line in fonts.splitlines())


def test_html_report_and_admin_downloads(session, seed004, admin_client):  # type: ignore[no-untyped-def]
    data = build_report(session, seed004)
    assert dict(data.channel_counts)["线上评议"] == 12 and dict(data.channel_counts)["问卷调查"] == 9
    assert [m.count for m in data.methods] == [6, 12, 9, 7]
    # Every rating carried a comment, so each opened a follow-up; none is closed yet.
    assert data.comments == 21 and dict(data.follow_ups)["未办结"] == 21
    assert dict(data.follow_ups)["已办结"] == 0
    assert data.themes[0][1] >= 9  # "服务" is in every comment

    page = admin_client.get(f"/admin/campaigns/{seed004.id}/report.html")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    for expected in ("政务服务中心测评", "连续两轮" , "减分情况", "市场监管局", "95.90"):
        assert expected in html
    pdf = admin_client.get(f"/admin/campaigns/{seed004.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_programme_page_shows_scores_and_deductions(seed004, admin_client):  # type: ignore[no-untyped-def]
    page = admin_client.get(f"/admin/campaigns/{seed004.id}/programme").get_data(as_text=True)
    for expected in ("第三方测评", "95.90", "−6.00", "不配合采访 3 次", "缺 deputies", "综合后3"):
        assert expected in page, expected
