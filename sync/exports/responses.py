"""The responses table: one row per stored response, one column per item, streamed in keyset
pages, each page formatted by the store itself.

Pages follow ix_responses_campaign_created on (created_at, id): no OFFSET, no cursor held open,
and every page is its own short read transaction, so a million-row download neither loads
everything nor pins the store. A page is its keys (an index range scan), then its rows as
finished text: labels, Beijing times and the formula guard are computed in SQL
(sync.exports.formatting), and for CSV the store writes the CSV text itself — PostgreSQL with
COPY … TO STDOUT, SQLite as one string per page — so Python only passes pages along.
Paging and reading pages in parallel: sync.exports.paging.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from ..integrity.signals import campaign_signals
from ..models import (
    CHANNEL_LABELS,
    Campaign,
    QuestionnaireItem,
    Response,
    ScaleLevel,
    Unit,
    Visit,
)
from ..questionnaires import item_keys
from ..reports import TallyFilter
from . import formatting as fmt
from .paging import PAGE_SIZE, READ_THREADS, Page, PageReader
from .table import Row, Table, neutralise


def _as_typed(value: Any) -> Any:
    return value


class ResponsesExport:
    """The export of one campaign's responses for one reader: its headers and its queries.

    `guard` (CSV) neutralises formula-like text in every text column; without it (XLSX: a
    text cell is never a formula) text is as typed. `with_signals` adds the admin's 风险提示.
    """

    def __init__(self, session: Session, campaign: Campaign,
                 tally_filter: TallyFilter | None = None,
                 unit_ids: Collection[int] | None = None, with_signals: bool = True,
                 guard: bool = True) -> None:
        self.session = session
        self.campaign = campaign
        self.unit_ids = unit_ids
        self.with_signals = with_signals
        self.guard = guard
        self.dialect = session.get_bind().dialect.name
        items = campaign.questionnaire.items
        self.headers = ["编号", "评议活动", "单位代码", "单位名称", "评议方式", "走访",
                        "提交时间(北京时间)", "接收时间(北京时间)",
                        *[i.label for i in items], "评议人员身份", "意见建议", "标记",
                        "已剔除", "剔除原因", *(["风险提示"] if with_signals else [])]
        self.where = [Response.campaign_id == campaign.id,
                      *(tally_filter or TallyFilter()).conditions()]
        if unit_ids is not None:
            self.where.append(Response.unit_id.in_(sorted(unit_ids)))
        # Answers to earlier questionnaire versions find their column by item key.
        column_of_key = {item.key: n for n, item in enumerate(items)}
        self.answer_items: list[list[int]] = [[] for _ in items]
        for item_id, key in sorted(item_keys(session, campaign).items()):
            if key in column_of_key:
                self.answer_items[column_of_key[key]].append(item_id)
        item_ids = [i for ids in self.answer_items for i in ids] or [-1]
        self.level_labels = dict(session.execute(
            select(ScaleLevel.id, ScaleLevel.label).where(ScaleLevel.scale_id.in_(
                select(QuestionnaireItem.scale_id).where(QuestionnaireItem.id.in_(item_ids)))
            )).all())
        self._signal_texts: dict[int, str] | None = None

    # -- keys -------------------------------------------------------------------------------

    def keys_query(self, after: tuple[str, int] | None, limit: int) -> Select:
        """The next page's (id, created_at as text), in export order: an index range scan.

        The timestamp travels as the store's own text (SQLite stores text and compares it as
        stored; PostgreSQL's text keeps the offset and every microsecond and casts back
        exactly), so a million keys cost no datetime parsing.
        """
        if self.dialect == "sqlite":
            created: Any = type_coerce(Response.created_at, String)
            stmt = select(Response.id, created)
            moment: Any = literal(after[0], String) if after else None
        else:
            created = Response.created_at
            stmt = select(Response.id, cast(Response.created_at, Text))
            moment = cast(literal(after[0], Text), DateTime(timezone=True)) if after else None
        stmt = stmt.where(*self.where).order_by(Response.created_at, Response.id).limit(limit)
        if after is not None:
            stmt = stmt.where(tuple_(created, Response.id) > tuple_(moment,
                                                                   literal(after[1], Integer)))
        return stmt

    def page_params(self, page: Page) -> dict[str, Any]:
        """What a page's rows query binds: SQLite its key range (after, last], PostgreSQL its
        ids; both the page's flagged ids with their 风险提示."""
        texts = self.signal_texts() if self.with_signals else {}
        if self.dialect == "sqlite":
            last_created, last_id = page.keys[-1][1], page.keys[-1][0]
            params: dict[str, Any] = {"last_created": last_created, "last_id": last_id}
            if page.after is not None:
                params.update(after_created=page.after[0], after_id=page.after[1])
            params["signals"] = fmt.json_object(
                {str(rid): texts[rid] for rid, _ in page.keys if rid in texts})
            return params
        ids = sorted(k[0] for k in page.keys)
        flagged = [i for i in ids if i in texts]
        return {"page_ids": ids, "signal_ids": flagged,
                "signal_texts": [texts[i] for i in flagged]}

    # -- rows -------------------------------------------------------------------------------

    def _columns(self, answer_levels: list[Any], signal: Any,
                 csv: bool) -> list[tuple[Any, bool]]:
        """(expression, free text?) per column. With `csv` (SQLite writing CSV lines) labels
        and the title come already CSV-quoted; free text is quoted by the line query."""
        d, guard = self.dialect, self.guard
        g = neutralise if guard else _as_typed

        def known(value: str) -> str:  # a label or title: guarded and quoted once, here
            return fmt.csv_text(g(value)) if csv else g(value)

        levels = {level_id: known(label) for level_id, label in self.level_labels.items()}
        # label or typed key in one column: quoted with the free text, by the line query
        identities = {c.key: g(c.label) for c in self.campaign.questionnaire.identities
                      if c.label}
        channels = {c.value: label for c, label in CHANNEL_LABELS.items()}
        channel = type_coerce(Response.channel, String)
        columns: list[tuple[Any, bool]] = [
            (fmt.cell(Response.uuid, d, guard), True),
            (literal(known(self.campaign.title), Text), False),
            (fmt.cell(Unit.code, d, guard), True), (fmt.cell(Unit.name, d, guard), True),
            (fmt.labelled(channel, channels, fmt.text(channel)), True),
            (fmt.cell(Visit.place, d, guard), True),
            (fmt.local_time(Response.created_at, d), False),
            (fmt.local_time(Response.received_at, d), False),
            *[(fmt.labelled(level, levels), False) for level in answer_levels],
            (fmt.labelled(Response.identity_key, identities,
                          fmt.cell(Response.identity_key, d, guard)), True),
            (fmt.cell(Response.comment, d, guard), True), (fmt.flags_text(d, guard), True),
            (type_coerce(case((Response.excluded_at.is_not(None), "是"), else_=""), Text),
             False),
            (fmt.cell(Response.exclusion_reason, d, guard), True)]
        if self.with_signals:
            columns.append((fmt.text(signal), True))
        return columns

    def rows_query(self, csv: bool = False, after: bool = True) -> Select:
        """A page's rows as finished text, in export order (bound by `page_params`).

        SQLite reads the page's key range (with `after`: the range starts after a key),
        PostgreSQL the page's ids in one index scan (in id order: the look-ups walk the index
        instead of jumping around it) and each response's answers once, by LATERAL.
        """
        base = Response.__table__.join(Unit.__table__, Unit.id == Response.unit_id).outerjoin(
            Visit.__table__, Visit.id == Response.visit_id)
        if self.dialect == "sqlite":
            entries = func.json_each(bindparam("signals", "{}", type_=Text)).table_valued(
                "key", "value")
            flagged = select(cast(entries.c.key, Integer).label("id"),
                             entries.c.value.label("text")).subquery("flagged")
            source = base.outerjoin(flagged, flagged.c.id == Response.id)
            created = type_coerce(Response.created_at, String)
            where = [*self.where, tuple_(created, Response.id) <= tuple_(
                bindparam("last_created", type_=String), bindparam("last_id", type_=Integer))]
            if after:
                where.append(tuple_(created, Response.id) > tuple_(
                    bindparam("after_created", type_=String),
                    bindparam("after_id", type_=Integer)))
            levels = fmt.answer_levels(self.answer_items)
        else:
            lateral = fmt.answers_lateral(self.answer_items)
            flagged = func.unnest(bindparam("signal_ids", [], type_=ARRAY(Integer)),
                                  bindparam("signal_texts", [], type_=ARRAY(Text))
                                  ).table_valued("id", "text").render_derived("flagged")
            source = base.join(lateral, true()).outerjoin(flagged, flagged.c.id == Response.id)
            where = [Response.id == any_(bindparam("page_ids", [], type_=ARRAY(Integer)))]
            levels = [lateral.c[f"c{n}"] for n in range(len(self.answer_items))]
        columns = self._columns(levels, flagged.c.text, csv)
        stmt = (select(*[expr.label(f"f{n}") for n, (expr, _) in enumerate(columns)])
                .select_from(source).where(*where).order_by(Response.created_at, Response.id))
        if not csv:
            return stmt
        # SQLite: the page as one CSV string, csv.writer's quoting, rows ending in CRLF. The
        # ordered subquery is not flattened into the aggregate, so each cell is computed once.
        page = stmt.subquery("page")
        cells = [fmt.csv_field(page.c[f"f{n}"]) if free else page.c[f"f{n}"]
                 for n, (_, free) in enumerate(columns)]
        return select(func.coalesce(func.group_concat(fmt.csv_line(cells), ""), ""))

    def signal_texts(self) -> dict[int, str]:
        """风险提示 per flagged response id; judged on the whole campaign, so computed once, when
        the first page is read (after the header has gone out: the download starts at once)."""
        if self._signal_texts is None:
            report = campaign_signals(self.session, self.campaign, self.unit_ids)
            g = neutralise if self.guard else _as_typed
            self._signal_texts = {rid: g(entry.describe())
                                  for rid, entry in report.flagged.items()}
            self.session.rollback()
        return self._signal_texts

    def reader(self, page_size: int = PAGE_SIZE, threads: int = 1) -> PageReader:
        return PageReader(self, page_size, threads)


def responses_table(session: Session, campaign: Campaign,
                    tally_filter: TallyFilter | None = None,
                    unit_ids: Collection[int] | None = None,
                    with_signals: bool = True, page_size: int = PAGE_SIZE,
                    guard_formulas: bool = True, read_threads: int = READ_THREADS) -> Table:
    """One row per stored response, one column per item (the level label); streamed.

    Excluded ratings stay in the file, marked, with the reason; fraud signals (for admins)
    explain themselves in 风险提示. With `guard_formulas` (for CSV) every text cell comes out
    neutralised and `Table.csv_pages` holds the rows as CSV text, `read_threads` pages read at
    once; without it (XLSX) text is as typed. Read `rows` or `csv_pages`, never both.
    """
    export = ResponsesExport(session, campaign, tally_filter, unit_ids, with_signals,
                             guard_formulas)

    def rows() -> Iterator[Row]:
        for page in export.reader(page_size).rows():
            for row in page:
                yield list(row)

    return Table("评议结果", export.headers, rows(),
                 csv_pages=export.reader(page_size, read_threads).csv()
                 if guard_formulas else None)
