"""Importing units from an Excel or CSV sheet: per-row Chinese errors, nothing half-imported."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from sync.models import Category, Unit
from sync.unit_sheet import SheetError, import_units

ROWS = [("类别", "单位代码", "单位名称"),
        ("党群工作部门", "DQ01", "组织部"),
        ("党群工作部门", "DQ02", "宣传部"),
        ("政府工作部门", 101, "发展改革委"),  # numeric code typed into Excel
        (None, None, None),  # blank separator row
        ("企事业单位", "QY01", "供电公司")]


def xlsx_bytes(rows) -> bytes:  # type: ignore[no-untyped-def]
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding: str = "utf-8-sig") -> bytes:  # type: ignore[no-untyped-def]
    lines = [",".join("" if c is None else str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def upload(admin_client, post_form, campaign, filename: str, data: bytes):  # type: ignore[no-untyped-def]
    return post_form(f"/admin/campaigns/{campaign.id}/units",
                     f"/admin/campaigns/{campaign.id}/units/import",
                     {"sheet": (io.BytesIO(data), filename)},
                     content_type="multipart/form-data")


@pytest.mark.parametrize("filename,data", [
    ("名单.xlsx", xlsx_bytes(ROWS)),
    ("名单.csv", csv_bytes(ROWS)),
    ("名单.CSV", csv_bytes(ROWS, "gb18030")),  # saved by Excel on Chinese Windows
])
def test_import_adds_units_and_categories(admin_client, post_form, make_campaign, session,
                                          filename, data):
    campaign = make_campaign(units={"中直单位": [("ZZ01", "税务局")]})
    reply = upload(admin_client, post_form, campaign, filename, data)
    assert reply.status_code == 302
    session.expire_all()
    got = {(u.category.name, u.code, u.name) for u in campaign.units}
    assert got == {("中直单位", "ZZ01", "税务局"), ("党群工作部门", "DQ01", "组织部"),
                   ("党群工作部门", "DQ02", "宣传部"), ("政府工作部门", "101", "发展改革委"),
                   ("企事业单位", "QY01", "供电公司")}
    assert session.query(Category).filter_by(campaign_id=campaign.id).count() == 4


def test_bad_rows_refuse_the_whole_sheet(admin_client, post_form, make_campaign, session):
    campaign = make_campaign(units={"中直单位": [("ZZ01", "税务局")]})
    rows = [("类别", "单位代码", "单位名称"),
            ("党群工作部门", "DQ01", "组织部"),      # line 2: fine
            ("党群工作部门", "", "宣传部"),          # line 3: no code
            ("政府工作部门", "DQ01", "发改委"),      # line 4: duplicate of line 2
            ("中直单位", "ZZ01", "税务局"),          # line 5: exists already
            ("", "QY01", "供电公司"),              # line 6: no category
            ("企事业单位", "QY02", "长" * 201)]      # line 7: name too long
    reply = upload(admin_client, post_form, campaign, "units.xlsx", xlsx_bytes(rows))
    assert reply.status_code == 422
    text = reply.get_data(as_text=True)
    for message in ("第3行：单位代码不能为空", "第4行：单位代码“DQ01”与第2行重复",
                    "第5行：单位代码“ZZ01”在本活动中已存在", "第6行：类别不能为空",
                    "第7行：单位名称超过 200 个字"):
        assert message in text
    assert "第2行" not in text.replace("与第2行", "")
    session.expire_all()
    assert [u.code for u in campaign.units] == ["ZZ01"]
    assert session.query(Category).filter_by(campaign_id=campaign.id).count() == 1


@pytest.mark.parametrize("filename,data,message", [
    ("units.xls", b"\xd0\xcf\x11\xe0", "请上传 .xlsx 或 .csv 文件"),
    ("units.xlsx", b"not a zip file", "无法读取该 Excel 文件"),
    ("units.csv", csv_bytes([("名称", "代码")]), "第1行应为表头“类别、单位代码、单位名称”"),
    ("units.csv", b"", "文件是空的"),
    ("units.csv", csv_bytes([("类别", "单位代码", "单位名称")]), "表头下没有任何单位"),
])
def test_unusable_files_get_a_chinese_message(admin_client, post_form, make_campaign, session,
                                              filename, data, message):
    campaign = make_campaign()
    reply = upload(admin_client, post_form, campaign, filename, data)
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert session.query(Unit).count() == 3


def test_missing_file_is_a_4xx(admin_client, post_form, make_campaign):
    campaign = make_campaign()
    reply = post_form(f"/admin/campaigns/{campaign.id}/units",
                      f"/admin/campaigns/{campaign.id}/units/import", {},
                      content_type="multipart/form-data")
    assert reply.status_code == 422
    assert "请选择要导入的文件" in reply.get_data(as_text=True)


def test_columns_may_come_in_any_order(session, make_campaign):
    campaign = make_campaign(units={"中直单位": [("ZZ01", "税务局")]})
    data = csv_bytes([("单位名称", "类别", "单位代码", "备注"), ("气象局", "中直单位", "ZZ02", "x")])
    import_units(session, campaign, "u.csv", data)
    assert {u.code: u.name for u in campaign.units} == {"ZZ01": "税务局", "ZZ02": "气象局"}
    with pytest.raises(SheetError) as exc:
        import_units(session, campaign, "u.csv", data)
    assert exc.value.errors == ["第2行：单位代码“ZZ02”在本活动中已存在。"]
