"""Programs side by side: de-duplication into equivalence classes (`dedup`) and the textual and
semantic comparison of two variants (`diff`)."""
