"""The `collector` command: a Flask CLI group bound to create_app()."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Blueprint, current_app
from flask.cli import FlaskGroup
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from sync.audit import VISIT_FIELDS, account_snapshot, link_snapshot, record, snapshot
from sync.db import write_transaction
from sync.exports.csv import write_csv
from sync.exports.responses import responses_table
from sync.exports.tables import rankings_table, tallies_table
from sync.exports.xlsx import write_xlsx
from sync.links import issue_link
from sync.models import Campaign, Channel, Response, Role, Unit, User
from sync.reports import campaign_tally
from sync.reports.totals import rebuild_totals

from .extensions import db
from .links import form_url

bp = Blueprint("cli", __name__, cli_group=None)


def main() -> None:
    """Entry point of the `collector` console script."""
    from . import create_app

    FlaskGroup(create_app=create_app, help="评议收集器 Pingyi Collector")()


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"campaign {campaign_id} does not exist")
    return campaign


def cli_audit(action: str, target_type: str, target_id: object, campaign_id: int | None = None,
              before: dict | None = None, after: dict | None = None) -> None:
    """Audit a change made from the command line (no signed-in user: the actor is empty)."""
    record(db.session, actor=None, action=action, target_type=target_type, target_id=target_id,
           campaign_id=campaign_id, before=before, after=after)


@bp.cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the store's tables (Alembic migrations)."""
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@bp.cli.command("demo")
def demo() -> None:
    """Load a demo campaign and print an admin login, a poster link and a visit link."""
    from .demo import load_demo

    upgrade()
    result = load_demo(db.session, Path(current_app.instance_path) / "demo-admin-password")
    db.session.commit()
    click.echo(f"campaign {result.campaign.id}: {result.campaign.title}")
    click.echo(f"admin login: {result.admin_username} / {result.admin_password}")
    click.echo(f"poster link ({result.poster_link.units[0].name}): {form_url(result.poster_link)}")
    click.echo(f"visit link ({result.visit_link.visit.place}): {form_url(result.visit_link)}")
    if "//localhost" in form_url(result.poster_link) or "//127." in form_url(result.poster_link):
        click.echo("phones cannot open localhost: set PUBLIC_BASE_URL=http://<this machine's "
                   "LAN address>:8000 (serve.sh does it for you) and run again")


@bp.cli.command("create-admin")
@click.argument("username")
@click.password_option(prompt="Password")
def create_admin(username: str, password: str) -> None:
    """Create an admin account, or reset its password."""
    user = db.session.scalar(select(User).where(User.username == username))
    before = account_snapshot(user) if user is not None else None
    if user is None:
        user = User(username=username)
        db.session.add(user)
    user.role = Role.ADMIN
    user.password_hash = generate_password_hash(password)
    db.session.flush()
    cli_audit("account.update" if before else "account.create", "user", user.id, before=before,
              after={**account_snapshot(user), "password_changed": True})
    db.session.commit()
    click.echo(f"admin {username} ready")


@bp.cli.command("link")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--unit", "unit_codes", required=True, multiple=True,
              help="unit code; repeat for a visit covering several units")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None)
@click.option("--visit", "visit_place", default=None, help="village or place of a home visit")
@click.option("--max-age", type=int, default=None, help="lifetime in seconds")
def link(campaign_id: int, unit_codes: tuple[str, ...], channel: str | None,
         visit_place: str | None, max_age: int | None) -> None:
    """Issue a signed link and print its URL."""
    from sync.campaigns import create_visit

    campaign = _campaign(campaign_id)
    units = db.session.scalars(select(Unit).where(Unit.campaign_id == campaign.id,
                                                  Unit.code.in_(unit_codes))).all()
    missing = set(unit_codes) - {u.code for u in units}
    if missing:
        raise click.ClickException(f"unknown unit code(s): {', '.join(sorted(missing))}")
    visit = create_visit(db.session, campaign, visit_place) if visit_place else None
    if visit is not None:
        cli_audit("visit.create", "visit", visit.id, campaign.id,
                  after=snapshot(visit, VISIT_FIELDS))
    chosen = Channel(channel) if channel else (Channel.VISIT if visit else Channel.ONLINE)
    new = issue_link(db.session, campaign, list(units), chosen, visit, max_age)
    cli_audit("link.create", "link", new.id, campaign.id, after=link_snapshot(new))
    db.session.commit()
    click.echo(form_url(new))


@bp.cli.command("export")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export(campaign_id: int, fmt: str, out: Path) -> None:
    """Export responses, tallies and rankings: one XLSX workbook with three sheets, or three CSV
    files (FILE, FILE-tallies.csv, FILE-rankings.csv)."""
    campaign = _campaign(campaign_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    tally = campaign_tally(db.session, campaign)
    total = db.session.scalar(select(func.count()).select_from(Response)
                              .where(Response.campaign_id == campaign.id)) or 0
    # XLSX text cells are never formulas: only CSV needs the apostrophe
    tables = [responses_table(db.session, campaign, guard_formulas=fmt == "csv"),
              tallies_table(tally), rankings_table(tally)]
    cli_audit("export.cli", "campaign", campaign.id, campaign.id,
              after={"format": fmt, "out": str(out)})
    db.session.commit()
    with click.progressbar(length=total, label="exporting responses", show_pos=True,
                           file=sys.stderr) as bar:
        if fmt == "xlsx":
            count = write_xlsx(out, tables, progress=bar.update)[0]
        else:
            count = write_csv(out, tables[0], progress=bar.update)
    if fmt == "xlsx":
        click.echo(f"{count} responses, tallies and rankings -> {out}")
        return
    written = [str(out)]
    for suffix, table in (("tallies", tables[1]), ("rankings", tables[2])):
        path = out.with_name(f"{out.stem}-{suffix}{out.suffix or '.csv'}")
        write_csv(path, table)
        written.append(str(path))
    click.echo(f"{count} responses -> {'; '.join(written)}")


@bp.cli.command("prune-exports")
@click.option("--days", type=click.FloatRange(min=0, max=36_500), default=None,
              help="keep finished Excel files this many days (default EXPORT_RETENTION_DAYS)")
def prune_exports_command(days: float | None) -> None:
    """Delete finished Excel files past their retention (the app's runners do this every ten
    minutes too; files with phone numbers after EXPORT_PERSONAL_RETENTION_HOURS)."""
    from datetime import timedelta

    from sync.exports.files import prune_exports

    from .admin.reports.export_jobs import retention

    kept = retention(current_app)
    if days is not None:
        kept["retention"] = timedelta(days=days)
        kept["personal_retention"] = min(kept["personal_retention"], kept["retention"])
    count = prune_exports(db.session, kept["retention"], kept["personal_retention"])
    click.echo(f"{count} export file(s) expired and deleted")


@bp.cli.command("rebuild-tallies")
@click.option("--campaign", "campaign_id", type=int, default=None,
              help="only this campaign (default: all)")
def rebuild_tallies(campaign_id: int | None) -> None:
    """Recompute the running tally totals from the stored responses."""
    ids = [_campaign(campaign_id).id] if campaign_id else list(
        db.session.scalars(select(Campaign.id).order_by(Campaign.id)))
    db.session.rollback()
    with click.progressbar(ids, label="rebuilding tallies", show_pos=True) as bar:
        for cid in bar:
            with write_transaction(db.session):  # one campaign per short transaction
                rebuild_totals(db.session, [cid])
    click.echo(f"tallies rebuilt for {len(ids)} campaign(s)")


@bp.cli.command("posters")
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def posters(campaign_id: int, out: Path) -> None:
    """Write posters.pdf (a page per unit), visit-cards.pdf and a PNG and SVG per unit to OUT.

    Each unit's newest unrevoked poster link is printed; units without one get a new link.
    """
    from flask import current_app

    from qr.codes import QRTooDense
    from qr.fonts import FontMissing
    from qr.printset import print_set_files, print_set_steps
    from sync.posters import issue_poster_links, poster_specs, visit_card_specs

    campaign = _campaign(campaign_id)
    base_url = current_app.config["PUBLIC_BASE_URL"]
    issue_poster_links(db.session, campaign, actor=None)
    poster_list = poster_specs(db.session, campaign, base_url)
    cards = visit_card_specs(db.session, campaign, base_url)
    if not poster_list:
        raise click.ClickException(f"campaign {campaign_id} has no units to print posters for")
    db.session.commit()  # the links printed must exist before the paper does
    written = 0
    try:
        with click.progressbar(length=print_set_steps(poster_list, cards),
                               label="generating posters") as bar:
            for name, content in print_set_files(poster_list, cards, on_step=lambda: bar.update(1)):
                path = out / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                written += 1
    except (FontMissing, QRTooDense) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(poster_list)} posters, {len(cards)} visit cards, {written} files -> {out}")


@bp.cli.command("import-queue")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_queue(file: Path) -> None:
    """Import a phone's exported upload queue (导出未上传数据); safe to repeat."""
    from sync.queue_file import QueueFileError, import_queue_file, load_queue_file

    from .links import signer

    try:
        queue = load_queue_file(file.read_bytes())
        with click.progressbar(length=len(queue["responses"]), label="importing",
                               show_pos=True, file=sys.stderr) as bar:
            summary = import_queue_file(db.session, signer(), queue, bar.update)
    except QueueFileError as exc:
        raise click.ClickException(exc.message) from exc
    counts = summary.counts
    # Each batch committed as it merged; the record of the import follows them.
    cli_audit("queue.import", "queue_file", file.name, after={"filename": file.name, **counts})
    db.session.commit()
    click.echo(f"{len(summary.results)} responses: " + ", ".join(
        f"{status} {counts.get(status, 0)}"
        for status in ("stored", "duplicate", "conflict", "rejected")))
    for problem in summary.problems:
        click.echo(f"  {problem.id}: {problem.status} {problem.error or ''}".rstrip())


from . import cli_programmes  # noqa: E402,F401  (more commands on bp)
