"""Reports on a campaign's ratings: tallies and rankings, filters, dashboard activity."""

from .activity import Activity, LatestComment, campaign_activity
from .filters import (
    REPORT_TZ,
    FilterError,
    TallyFilter,
    day_start_utc,
    local_day,
    local_time,
    parse_filter,
)
from .tallies import (
    CampaignTally,
    CategoryResult,
    ItemInfo,
    PreviousResult,
    UnitItemTally,
    UnitResult,
    campaign_tally,
    rank_category,
    unit_item_tallies,
)

__all__ = [
    "REPORT_TZ",
    "Activity",
    "CampaignTally",
    "CategoryResult",
    "FilterError",
    "ItemInfo",
    "LatestComment",
    "PreviousResult",
    "TallyFilter",
    "UnitItemTally",
    "UnitResult",
    "campaign_activity",
    "campaign_tally",
    "day_start_utc",
    "local_day",
    "local_time",
    "parse_filter",
    "rank_category",
    "unit_item_tallies",
]
