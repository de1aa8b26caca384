"""Words for codes (status, source, action …) as msgids, translated in templates with `_()`.
`N_` only marks a string for extraction into the catalogs."""

from __future__ import annotations

from twonets.city.lifecycle import OPEN as OPEN_STATES  # noqa: F401  (deadline flags matter only here)


def N_(text: str) -> str:
    return text


SOURCES = {"auto": N_("Auto-detected"), "proactive": N_("Proactive"), "citizen": N_("Citizen")}
STATUSES = {
    "created": N_("New"), "dispatched": N_("Dispatched"), "accepted": N_("Accepted"),
    "in_progress": N_("In progress"), "resolved": N_("Resolved"), "checked": N_("Checked"),
    "closed": N_("Closed"), "returned": N_("Returned"), "suspended": N_("Suspended"),
    "merged": N_("Merged"), "cancelled": N_("Cancelled"),
}
FLAGS = {"ok": N_("On time"), "warning": N_("Due soon"), "overdue": N_("Overdue")}
ACTIONS = {
    "dispatch": N_("Dispatch"), "reassign": N_("Reassign"), "return": N_("Return"), "accept": N_("Accept"),
    "start": N_("Start"), "resolve": N_("Resolve"), "check": N_("Check"), "callback": N_("Callback"),
    "reopen": N_("Reopen"), "close": N_("Close"), "suspend": N_("Suspend"), "resume": N_("Resume"),
    "escalate": N_("Escalate"), "merge": N_("Merge"), "cancel": N_("Cancel"), "create": N_("Order created"),
    "flag": N_("Deadline flag"), "follow": N_("Follows a master"), "clear": N_("Condition cleared"),
}
SEVERITIES = {"normal": N_("Normal"), "urgent": N_("Urgent")}
