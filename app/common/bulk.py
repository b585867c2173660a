"""Moved to app/common/bulk.py (set-based writes are shared infrastructure: sponsorship's roster
upload uses them too, and sponsorship must not import the jobs capability).

TODO(owned): app/jobs/roster_enrollment.py still imports from here; once it imports
app.common.bulk, delete this module."""

from app.common.bulk import allocate_ids, among, insert_rows, update_rows

__all__ = ["allocate_ids", "among", "insert_rows", "update_rows"]
