"""Follow-up pages: ledger (整改台账), appeals (申诉复核), paper entry, settings, public board."""

from . import appeals, ledger, paper, settings  # noqa: F401  (routes on the admin blueprint)
