"""Follow-ups (整改台账): every comment and low rating followed to its end.

Modules: deadlines (working days), intake (what the merge opens), ledger (list, edit, export),
contact (call-back phones), appeals (申诉复核), paper (问卷调查 keying), board (public figures).
"""
