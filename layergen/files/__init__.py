"""Generated files on disk: ``plan`` (headers, statuses, diffs), ``formatting``
(black), ``cache`` (what can be recomputed), ``writer`` (all-or-nothing writes)."""
