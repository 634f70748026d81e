"""QR codes: version ≤ 5, strongest error correction that fits, quiet zone kept, and every format
decodes with a real decoder (zbar) to exactly the URL encoded."""

from __future__ import annotations

import pytest
from qr_helpers import decode_png, decode_svg

from qr.codes import MAX_VERSION, QUIET_ZONE, QRTooDense, build_qr, qr_png, qr_svg, short_url
from qr.links import new_short_code

# From the test server to a long provincial government host: the short code keeps all of them low.
BASE_URLS = [
    "http://testserver",
    "https://pingyi.example.gov.cn",
    "https://zwfw.jiangxi-province-example.gov.cn/pingyi",
]


@pytest.mark.parametrize("base_url", BASE_URLS)
def test_short_urls_stay_low_density_at_strong_error_correction(base_url):
    symbol = build_qr(short_url(base_url, new_short_code()))
    assert symbol.version <= MAX_VERSION
    assert symbol.error_level in ("H", "Q", "M")
    assert symbol.size == 17 + 4 * symbol.version + 2 * QUIET_ZONE


def test_short_urls_of_a_typical_host_get_level_h():
    symbol = build_qr(short_url("https://pingyi.example.gov.cn", "AB12CD"))
    assert (symbol.version, symbol.error_level) == (5, "H")


def test_longer_data_trades_error_correction_for_the_version_cap():
    # 50 bytes fit version 5 only at Q (H holds 44 bytes), 70 bytes only at M (Q holds 60).
    assert build_qr("https://x.example/" + "a" * 32).error_level == "Q"
    assert build_qr("https://x.example/" + "a" * 52).error_level == "M"
    with pytest.raises(QRTooDense, match="PUBLIC_BASE_URL"):
        build_qr("https://x.example/" + "a" * 80)


def test_quiet_zone_is_intact():
    symbol = build_qr("http://testserver/q/AB12CD")
    rows = symbol.matrix
    for edge in (rows[:QUIET_ZONE], rows[-QUIET_ZONE:],
                 [row[:QUIET_ZONE] for row in rows], [row[-QUIET_ZONE:] for row in rows]):
        assert not any(any(cells) for cells in edge)
    assert any(rows[QUIET_ZONE])  # the finder pattern starts right after the quiet zone


@pytest.mark.parametrize("base_url", BASE_URLS)
def test_png_and_svg_decode_to_the_url(base_url):
    url = short_url(base_url, new_short_code())
    symbol = build_qr(url)
    assert decode_png(qr_png(symbol)) == [url]
    assert decode_png(qr_png(symbol, module_px=3)) == [url]
    assert decode_svg(qr_svg(symbol)) == [url]


def test_svg_is_one_millimetre_per_module_on_white():
    symbol = build_qr("http://testserver/q/AB12CD")
    svg = qr_svg(symbol)
    assert svg.startswith("<svg") and f'viewBox="0 0 {symbol.size} {symbol.size}"' in svg
    assert f'width="{symbol.size}mm"' in svg and 'fill="white"' in svg
