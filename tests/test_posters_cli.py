"""`collector posters --campaign ID --out DIR`."""

from __future__ import annotations

from qr_helpers import decode_png, decode_svg, open_scanned, pdf_pages, pdf_text

from sync.campaigns import create_visit
from sync.links import issue_link
from sync.models import Channel


def test_posters_command_writes_the_print_set(runner, client, session, make_campaign, tmp_path):
    campaign = make_campaign(title="县直机关作风评议")
    visit = create_visit(session, campaign, "红星村", "李明")
    issue_link(session, campaign, campaign.units, Channel.VISIT, visit)
    session.commit()
    out = tmp_path / "print"

    result = runner.invoke(args=["posters", "--campaign", str(campaign.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 posters, 1 visit cards" in result.output

    posters = (out / "posters.pdf").read_bytes()
    assert len(pdf_pages(posters, tmp_path)) == 3
    assert "县直机关作风评议" in pdf_text(posters) and "税务局" in pdf_text(posters)
    assert "红星村" in pdf_text((out / "visit-cards.pdf").read_bytes())
    pngs = sorted((out / "png").iterdir())
    assert [p.name for p in pngs] == ["ZF01-市场监管局.png", "ZF02-人社局.png", "ZZ01-税务局.png"]
    for png in pngs:
        (url,) = decode_png(png.read_bytes())
        svg = out / "svg" / png.with_suffix(".svg").name
        assert decode_svg(svg.read_text()) == [url]
        form = open_scanned(client, url)
        assert form.status_code == 200
        assert png.stem.split("-", 1)[1] in form.get_data(as_text=True)


def test_posters_command_reuses_links_on_a_second_run(runner, session, make_campaign, tmp_path):
    campaign = make_campaign()
    args = ["posters", "--campaign", str(campaign.id), "--out"]
    assert runner.invoke(args=[*args, str(tmp_path / "a")]).exit_code == 0
    assert runner.invoke(args=[*args, str(tmp_path / "b")]).exit_code == 0
    first = (tmp_path / "a" / "png" / "ZF01-市场监管局.png").read_bytes()
    assert decode_png(first) == decode_png((tmp_path / "b" / "png" / "ZF01-市场监管局.png")
                                           .read_bytes())
    assert not (tmp_path / "a" / "visit-cards.pdf").exists()  # no visits, no cards


def test_posters_command_rejects_an_unknown_campaign(runner, tmp_path):
    result = runner.invoke(args=["posters", "--campaign", "999", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "campaign 999 does not exist" in result.output


def test_posters_command_refuses_a_base_url_too_long_for_a_low_density_code(app, runner,
                                                                           make_campaign,
                                                                           tmp_path):
    campaign = make_campaign()
    app.config["PUBLIC_BASE_URL"] = "https://" + "x" * 80 + ".example.gov.cn"
    result = runner.invoke(args=["posters", "--campaign", str(campaign.id), "--out",
                                 str(tmp_path)])
    assert result.exit_code != 0
    assert "shorten PUBLIC_BASE_URL" in result.output
    assert not (tmp_path / "posters.pdf").exists()
