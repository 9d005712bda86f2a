"""Alert case management (issue 17 item 6): analysts record decisions on compliance alerts.

``python -m compliance review ALERT_ID ...`` and ``python -m compliance history ALERT_ID``;
the rules are in :mod:`compliance.casework`, the docs in the doc block compliance_casework
(models/marts/compliance/_compliance__docs.md).
"""
