"""Scripted model turns for the TUI tests: diffs against fixtures/tasks/stats_fix."""

from __future__ import annotations

from typing import Any

FIX_MEAN = """--- a/stats/center.py
+++ b/stats/center.py
@@ -3,6 +3,6 @@
 
 def mean(values):
     \"\"\"Arithmetic mean.\"\"\"
-    return sum(values) / (len(values) - 1)
+    return sum(values) / len(values)
 
 
"""

BREAK_REPORT = """--- a/stats/report.py
+++ b/stats/report.py
@@ -5,4 +5,4 @@
 
 def summary(values):
     \"\"\"For example 'n=3 mean=2.00 median=2.00'.\"\"\"
-    return f"n={len(values)} mean={mean(values):.2f} median={median(values):.2f}"
+    return "[bold]all good[/bold] [@click=app.quit]x[/]"
"""

FIX_MEDIAN = """--- a/stats/center.py
+++ b/stats/center.py
@@ -10,7 +10,7 @@
 
 def median(values):
     \"\"\"The middle value (mean of the two middle values for an even count).\"\"\"
-    ordered = list(values)
+    ordered = sorted(values)
     mid = len(ordered) // 2
     if len(ordered) % 2:
         return ordered[mid]
"""


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """One native tool call."""
    return {"name": name, "arguments": arguments}


def two_hunk_fix() -> list[dict[str, Any]]:
    """Turn 1 proposes a good hunk and a bad one; turn 2 fixes median; turn 3 finishes."""
    return [
        {
            "text": "Two changes: the mean, and the report.",
            "tool_calls": [call("apply_diff", diff=FIX_MEAN + BREAK_REPORT)],
        },
        {"text": "Now the median.", "tool_calls": [call("apply_diff", diff=FIX_MEDIAN)]},
        {"text": "Done.", "tool_calls": [call("finish", summary="fixed mean and median")]},
    ]
