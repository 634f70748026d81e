"""CLI commands for scoring programmes, the sample pool, the campaign report and the push worker.

Registered on the same `collector` group as collector.cli (imported at its bottom).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import click
from flask import current_app

from sync.audit import snapshot
from sync.models import Channel
from sync.pool.sample import (
    PoolError,
    draw_sample,
    draw_summary,
    import_pool,
    parse_fraction,
    personal_links,
    pool_state,
)
from sync.programmes.deductions import AUDIT_FIELDS
from sync.programmes.programme import (
    ProgrammeError,
    apply_programme,
    parse_programme,
    programme_spec,
)
from sync.programmes.scores import NoProgramme, campaign_scores
from sync.programmes.sheets import import_deductions, import_method_scores_audited
from sync.unit_sheet import SheetError

from .cli import _campaign, bp
from .cli import cli_audit as _audit
from .extensions import db


def _refused(exc: SheetError | ProgrammeError | PoolError) -> click.ClickException:
    db.session.rollback()
    lines = exc.errors if isinstance(exc, SheetError) else [exc.message]
    return click.ClickException("refused, nothing imported:\n" + "\n".join(lines))


@bp.cli.command("programme")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def programme(campaign_id: int, file: Path) -> None:
    """Set a campaign's methods, weights, deduction caps, grades and bottom N from JSON."""
    campaign = _campaign(campaign_id)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise click.ClickException(f"refused: {file} is not valid UTF-8 JSON ({exc})") from exc
    before = programme_spec(db.session, campaign)
    try:
        spec = parse_programme(data)
        apply_programme(db.session, campaign, spec)
    except ProgrammeError as exc:
        raise _refused(exc) from exc
    _audit("programme.update", "programme", campaign.id, campaign.id,
           before.to_json() if before else None, spec.to_json())
    db.session.commit()
    click.echo(f"programme set: {len(spec.methods)} methods "
               f"({', '.join(m.key for m in spec.methods)}), bottom {spec.bottom_n}")


@bp.cli.command("method-scores")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--method", "method_key", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def method_scores(campaign_id: int, method_key: str, file: Path) -> None:
    """Import an imported method's scores (columns 单位代码, 得分); replaces earlier ones."""
    campaign = _campaign(campaign_id)
    try:
        before, after = import_method_scores_audited(db.session, campaign, method_key,
                                                     file.name, file.read_bytes())
    except SheetError as exc:
        raise _refused(exc) from exc
    _audit("method_scores.import", "programme", campaign.id, campaign.id, before, after)
    db.session.commit()
    click.echo(f"{after['units']} unit scores imported for method {method_key}")


@bp.cli.command("deductions")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--by", "entered_by", default="cli", help="who entered them (kept with each)")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def deductions(campaign_id: int, entered_by: str, file: Path) -> None:
    """Add deductions (columns 单位代码, 来源, 分值, 事由, 日期[, 证据])."""
    campaign = _campaign(campaign_id)
    try:
        added = import_deductions(db.session, campaign, file.name, file.read_bytes(), entered_by)
    except SheetError as exc:
        raise _refused(exc) from exc
    for deduction in added:
        _audit("deduction.create", "deduction", deduction.id, campaign.id,
               after=snapshot(deduction, AUDIT_FIELDS))
    db.session.commit()
    click.echo(f"{len(added)} deductions added")


@bp.cli.command("scores")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="print the JSON array")
def scores(campaign_id: int, as_json: bool) -> None:
    """Print every unit's method scores, composite, deductions, rank, grade and flags."""
    campaign = _campaign(campaign_id)
    try:
        result = campaign_scores(db.session, campaign)
    except NoProgramme as exc:
        raise click.ClickException(f"campaign {campaign_id} has no programme yet") from exc
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        return
    for category, units in result.categories:
        click.echo(f"[{category}]")
        for u in units:
            score = "—" if u.score is None else f"{float(u.score):.2f}"
            flags = ",".join(u.bottom)
            click.echo(f"  {u.rank or '-':>3} {u.code:<10} {u.name:<16} {score:>7} "
                       f"{u.grade or ''} {flags}")


@bp.cli.group("pool")
def pool() -> None:
    """The sample pool (样本库): import, draw, personal links."""


@pool.command("import")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def pool_import(campaign_id: int, file: Path) -> None:
    """Import raters (columns 姓名, 组别[, 手机]); one person in two groups is one rater."""
    campaign = _campaign(campaign_id)
    try:
        before = pool_state(db.session, campaign)
        count = import_pool(db.session, campaign, file.name, file.read_bytes())
    except (SheetError, PoolError) as exc:
        raise _refused(exc) from exc
    _audit("pool.import", "pool", campaign.id, campaign.id, before,
           {**pool_state(db.session, campaign), "file": file.name})
    db.session.commit()
    click.echo(f"{count} people in the pool")


@pool.command("draw")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--per-group", type=int, default=None, help="people drawn from each group")
@click.option("--fraction", default=None, help="share of each group, e.g. 0.3")
@click.option("--seed", required=True, help="recorded; the same seed and pool give the same draw")
@click.option("--channel", type=click.Choice([c.value for c in Channel]),
              default=Channel.SURVEY.value, help="channel the personal links' ratings count under")
def pool_draw(campaign_id: int, per_group: int | None, fraction: str | None, seed: str,
              channel: str) -> None:
    """Draw a stratified random sample and issue each drawn rater a personal link."""
    campaign = _campaign(campaign_id)
    try:
        share = parse_fraction(fraction) if fraction is not None else None
        draw = draw_sample(db.session, campaign, seed, per_group, share, Channel(channel))
    except PoolError as exc:
        raise _refused(exc) from exc
    _audit("pool.draw", "pool_draw", draw.id, campaign.id, after=draw_summary(draw))
    db.session.commit()
    groups: dict[str, int] = {}
    for drawn in draw.drawn:
        groups[drawn.group] = groups.get(drawn.group, 0) + 1
    click.echo(f"draw {draw.id} (seed {seed}): {len(draw.drawn)} raters — "
               + ", ".join(f"{g} {n}" for g, n in groups.items()))


@pool.command("links")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def pool_links(campaign_id: int, out: Path) -> None:
    """Write the drawn raters' personal links (columns 姓名, 组别, 链接) as CSV."""
    from sync.models import Link

    from .links import form_url

    campaign = _campaign(campaign_id)
    try:
        rows = personal_links(db.session, campaign)
    except PoolError as exc:
        raise click.ClickException(exc.message) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "组别", "链接"])
        for row in rows:
            link = db.session.get(Link, row.link_id)
            assert link is not None
            writer.writerow([row.name, row.group, form_url(link)])
    click.echo(f"{len(rows)} personal links -> {out}")


@bp.cli.command("report")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.pdf or FILE.html")
def report(campaign_id: int, out: Path) -> None:
    """Write the campaign report (rankings, grades, deductions, responses, themes)."""
    from qr.fonts import FontMissing
    from sync.programmes.report import build_report
    from sync.programmes.report_html import report_html
    from sync.programmes.report_pdf import report_pdf

    campaign = _campaign(campaign_id)
    if out.suffix.lower() not in (".pdf", ".html"):
        raise click.ClickException("--out must end in .pdf or .html")
    try:
        data = build_report(db.session, campaign)
    except NoProgramme as exc:
        raise click.ClickException(f"campaign {campaign_id} has no programme yet") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        content = (report_pdf(data) if out.suffix.lower() == ".pdf"
                   else report_html(data).encode("utf-8"))
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from exc
    out.write_bytes(content)
    click.echo(f"report -> {out}")


@bp.cli.command("webhook")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--url", default=None, help="receiver URL; leave out to disable the push")
@click.option("--secret", default=None, help="HMAC-SHA256 key shared with the receiver")
def webhook(campaign_id: int, url: str | None, secret: str | None) -> None:
    """Configure (or disable) the campaign's rating push."""
    from sync.push.outbox import change_webhook

    campaign = _campaign(campaign_id)
    try:
        _, before, after = change_webhook(db.session, campaign, url, secret)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("webhook.update", "webhook", campaign.id, campaign.id, before=before, after=after)
    db.session.commit()
    click.echo(f"push {'to ' + url if url else 'disabled'} for campaign {campaign_id}")


@bp.cli.command("push-worker")
@click.option("--once", is_flag=True, help="deliver what is due, then exit")
@click.option("--interval", type=float, default=2.0, help="seconds between polls")
def push_worker(once: bool, interval: float) -> None:
    """Deliver queued rating pushes; safe to run on several hosts at once."""
    from sync.push.outbox import deliver_due
    from sync.push.sender import http_send

    while True:
        done = deliver_due(db.session, http_send)
        if done:
            current_app.logger.info("push-worker: %d deliveries tried", done)
        if once:
            click.echo(f"{done} deliveries tried")
            return
        time.sleep(interval)
