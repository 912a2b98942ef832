"""The dashboard: one HTML page over a report, served by the proxy or written as one file.

``static_page`` is what ``tierwise report --html`` writes; ``dashboard_routes`` (in
``tierwise.analysis.dashboard.routes``) are what the proxy adds at ``/dashboard``. Both fill the
same template and run the same script, so the file and the live page show the same numbers.
The charts are SVG drawn by that script (no chart library, no CDN: everything is in the package).
"""

from __future__ import annotations

from tierwise.analysis.dashboard.page import static_page

__all__ = ["static_page"]
