"""The `collector` command: demo, link, export, init-db, create-admin."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timezone

from sqlalchemy import select

from sync.models import Campaign, User


def _log_in(client, username: str, password: str):  # type: ignore[no-untyped-def]
    """Post the login form with the CSRF token its page carries."""
    page = client.get("/admin/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": csrf})


def _token(url: str) -> str:
    assert url.startswith("http://testserver/s/")
    return url.rsplit("/", 1)[1]


def test_demo_prints_a_login_and_working_links(runner, client, session):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    login = re.search(r"admin login: (\S+) / (\S+)", result.output)
    assert login
    poster = re.search(r"poster link \(.+\): (\S+)", result.output).group(1)
    visit = re.search(r"visit link \(.+\): (\S+)", result.output).group(1)
    assert "组织部" in client.get(f"/s/{_token(poster)}").get_data(as_text=True)
    visit_form = client.get(f"/api/v1/forms/{_token(visit)}").json
    assert visit_form["channel"] == "visit" and len(visit_form["units"]) > 1
    campaign = session.scalar(select(Campaign))
    assert len(campaign.units) == 12
    assert sorted(c.name for c in campaign.categories) == sorted(
        ["党群工作部门", "政府工作部门", "企事业单位", "中直单位"])
    assert _log_in(client, login.group(1), login.group(2)).status_code == 302
    # Running it again reuses the campaign and keeps the first run's password.
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert f"admin login: admin / {login.group(2)}" in again.output
    session.rollback()
    assert len(session.scalars(select(Campaign)).all()) == 1
    assert _log_in(client, "admin", login.group(2)).status_code == 302


def test_link_command(runner, client, make_campaign):
    campaign = make_campaign()
    result = runner.invoke(args=["link", "--campaign", str(campaign.id), "--unit", "ZF02"])
    assert result.exit_code == 0, result.output
    page = client.get(f"/s/{_token(result.output.strip())}")
    assert page.status_code == 200 and "人社局" in page.get_data(as_text=True)

    visit = runner.invoke(args=["link", "--campaign", str(campaign.id), "--unit", "ZF01",
                                "--unit", "ZZ01", "--visit", "青山村"])
    assert visit.exit_code == 0, visit.output
    form = client.get(f"/api/v1/forms/{_token(visit.output.strip())}").json
    assert form["channel"] == "visit"
    assert form["visit"]["place"] == "青山村"
    assert [u["code"] for u in form["units"]] == ["ZF01", "ZZ01"]

    bad = runner.invoke(args=["link", "--campaign", str(campaign.id), "--unit", "NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output


def test_export_csv_with_tallies(runner, client, make_campaign, make_link, make_item, tmp_path):
    campaign = make_campaign()
    _, token = make_link(campaign, codes=["ZF01"])
    items = [
        make_item(token, level="satisfied", comment="=1+1"),
        make_item(token, level="basic"),
        make_item(token, level="unsatisfied", comment="窗口人少"),
        make_item(token, level="satisfied"),
    ]
    assert client.post("/api/v1/sync", json={"responses": items}).status_code == 200
    out = tmp_path / "export.csv"
    result = runner.invoke(args=["export", "--campaign", str(campaign.id), "--format", "csv",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["编号"] for r in rows] == [i["id"] for i in items]
    assert [r["工作效率"] for r in rows] == ["满意", "基本满意", "不满意", "满意"]
    assert rows[0]["意见建议"] == "'=1+1"  # formula neutralised
    assert rows[0]["单位名称"] == "市场监管局" and rows[0]["评议方式"] == "线上评议"

    tallies = list(csv.DictReader(
        (tmp_path / "export-tallies.csv").read_text(encoding="utf-8-sig").splitlines()))
    zf01 = [t for t in tallies if t["单位代码"] == "ZF01"]
    assert [t["评议内容"] for t in zf01] == ["工作效率", "服务态度", "业务水平", "工作作风", "廉洁自律"]
    # 2 满意 (100), 1 基本满意 (60), 1 不满意 (0): 满意率 3/4 = 75%, score 260/4 = 65
    assert (zf01[0]["满意"], zf01[0]["基本满意"], zf01[0]["不满意"], zf01[0]["合计"]) == \
        ("2", "1", "1", "4")
    assert float(zf01[0]["满意率(%)"]) == 75.0
    assert float(zf01[0]["得分"]) == 65.0
    unrated = [t for t in tallies if t["单位代码"] == "ZZ01"]
    assert unrated and unrated[0]["合计"] == "0" and unrated[0]["得分"] == ""


def test_create_admin_prompts_for_a_password(runner, client, session):
    result = runner.invoke(args=["create-admin", "zhang"], input="s3cret-pw\ns3cret-pw\n")
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "zhang"))
    assert user.is_admin and user.password_hash != "s3cret-pw"
    assert _log_in(client, "zhang", "s3cret-pw").status_code == 302


def test_init_db_runs_migrations(runner, app):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output


def test_plain_form_post_goes_through_the_same_merge(client, session, make_campaign, make_link):
    from sync.models import Response

    _, token = make_link(make_campaign(), codes=["ZF01"])
    page = client.get(f"/s/{token}").get_data(as_text=True)
    response_id = re.search(r'name="response_id" value="([^"]+)"', page).group(1)
    form = {"response_id": response_id, "unit": "ZF01", "identity": "rural", "comment": "好",
            **{f"a.{k}": "basic" for k in
               ["efficiency", "attitude", "competence", "conduct", "integrity"]}}
    first = client.post(f"/s/{token}", data=form)
    assert first.status_code == 200 and "感谢" in first.get_data(as_text=True)
    again = client.post(f"/s/{token}", data=form)  # a double tap on 提交
    assert "无需重复提交" in again.get_data(as_text=True)
    stored = session.scalars(select(Response)).all()
    assert len(stored) == 1 and stored[0].uuid == response_id
    assert stored[0].created_at <= datetime.now(timezone.utc)

    missing = client.post(f"/s/{token}", data={"a.efficiency": "basic"})
    assert missing.status_code == 422
    assert "请评价" in missing.get_data(as_text=True)
