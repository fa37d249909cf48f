"""The words for dispatch's codes (statuses, kinds, clocks, steps, ...), as catalog message ids.

`N_` only marks a message for extraction; pages translate it with the visit's language.
A code without a word here is shown as it is (a code dispatch added later).
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:
    """Mark `message` for the catalog; it is translated where it is shown."""
    return message


ROLES: Mapping[str, str] = {
    "customer_service": N_("Customer service"),
    "dispatcher": N_("Dispatcher"),
    "technician": N_("Technician"),
    "supervisor": N_("Supervisor"),
    "project_manager": N_("Project manager"),
    "hq_quality": N_("Headquarters quality"),
}

PAGES: Mapping[str, str] = {
    "calls": N_("Take a call"),
    "dispatch": N_("Dispatch"),
    "tech": N_("My work"),
    "follow-ups": N_("Follow-up visits"),
    "staff": N_("Staff"),
    "notifications": N_("Who hears what"),
    "inbox": N_("Escalations"),
    "quality": N_("Quality"),
}

KINDS: Mapping[str, str] = {
    "repair": N_("Repair"),
    "complaint": N_("Complaint"),
    "suggestion": N_("Suggestion"),
    "cleaning": N_("Cleaning"),
}

CATEGORIES: Mapping[str, str] = {
    "plumbing": N_("Plumbing"),
    "electrical": N_("Electrical"),
    "elevator": N_("Elevator"),
    "doors_and_locks": N_("Doors and locks"),
    "cleaning": N_("Cleaning"),
    "security": N_("Security"),
    "noise": N_("Noise"),
    "parking": N_("Parking"),
    "other": N_("Other"),
    "customer_service": N_("Customer service"),
}

URGENCIES: Mapping[str, str] = {"normal": N_("Normal"), "urgent": N_("Urgent")}

CHANNELS: Mapping[str, str] = {
    "phone": N_("Phone"),
    "app": N_("App"),
    "wechat": N_("WeChat"),
    "walk_in": N_("Walk-in"),
    "patrol": N_("Patrol"),
}

STATUSES: Mapping[str, str] = {
    "reported": N_("Reported"),
    "assigned": N_("Assigned"),
    "on_site": N_("On site"),
    "in_progress": N_("In progress"),
    "paused": N_("Paused"),
    "completed": N_("Completed"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}

CLOCKS: Mapping[str, str] = {
    "arrival": N_("Arrival"),
    "feedback": N_("Feedback"),
    "resolution": N_("Resolution"),
    "reply": N_("Reply"),
    "progress": N_("Progress report"),
    "follow_up": N_("Follow-up visit"),
    "cleaning": N_("Cleaning"),
}

BACKLOG_AGES: Mapping[str, str] = {
    "lt_1d": N_("Open less than a day"),
    "1d_3d": N_("Open 1 to 3 days"),
    "3d_7d": N_("Open 3 to 7 days"),
    "ge_7d": N_("Open 7 days or more"),
}

SPANS: Mapping[str, str] = {
    "day": N_("Day"),
    "week": N_("Week"),
    "month": N_("Month"),
    "range": N_("Custom range"),
}

GROUPINGS: Mapping[str, str] = {
    "project": N_("Project"),
    "building": N_("Building"),
    "kind": N_("Kind"),
    "category": N_("Category"),
    "technician": N_("Technician"),
    "team": N_("Team"),
}

NOTIFICATION_OUTCOMES: Mapping[str, str] = {
    "sent": N_("Sent"),
    "failed": N_("Failed attempts"),
    "deferred": N_("Held for quiet hours"),
    "dead": N_("Given up"),
    "unreached": N_("Reached nobody"),
}

PERIOD_PROBLEMS: Mapping[str, str] = {
    "not_a_date": N_("That period is not a date; this month is shown instead."),
    "ends_before_start": N_("The period ends before it starts; this month is shown instead."),
    "too_long": N_("A period may span a year at most; this month is shown instead."),
}

AVAILABILITY: Mapping[str, str] = {
    "on_duty": N_("On duty"),
    "busy": N_("Busy"),
    "off": N_("Off"),
}

STEPS: Mapping[str, str] = {
    "reported": N_("Reported"),
    "owner_transferred": N_("Owner changed"),
    "offered": N_("Offered"),
    "assignment_accepted": N_("Offer accepted"),
    "assignment_declined": N_("Offer declined"),
    "offer_expired": N_("Offer expired"),
    "dispatch_pending": N_("Waiting for a dispatcher"),
    "assigned": N_("Assigned"),
    "reassigned": N_("Reassigned"),
    "assignment_returned": N_("Handed back"),
    "arrival_delay_agreed": N_("Arrival delay agreed"),
    "arrived": N_("Arrived"),
    "appointment_scheduled": N_("Appointment made"),
    "appointment_missed": N_("Appointment missed"),
    "no_visit_needed": N_("No visit needed"),
    "work_started": N_("Work started"),
    "paused": N_("Paused"),
    "resumed": N_("Resumed"),
    "commitment_made": N_("Completion promised"),
    "postponement_override_granted": N_("Second postponement allowed"),
    "postponed": N_("Postponed"),
    "progress_reported": N_("Progress reported"),
    "completed": N_("Completed"),
    "feedback_given": N_("Feedback given"),
    "follow_up_recorded": N_("Follow-up recorded"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "cancelled": N_("Cancelled"),
    "complaint_validity_marked": N_("Complaint ruled"),
    "urgency_changed": N_("Urgency changed"),
}

FOLLOW_UP_REASONS: Mapping[str, str] = {
    "sampled": N_("picked for a visit"),
    "top_up": N_("needed for the month's share"),
}


NOTIFY_CHANNELS: Mapping[str, str] = {
    "inbox": N_("In-app inbox"),
    "sms": N_("SMS"),
    "email": N_("E-mail"),
    "webhook": N_("Webhook"),
    "wecom": N_("WeCom robot"),
    "dingtalk": N_("DingTalk robot"),
    "feishu": N_("Feishu robot"),
}

DELIVERY_CHANNELS: Mapping[str, str] = {
    **NOTIFY_CHANNELS,
    "none": N_("No channel"),
}
"""The channels notify's delivery outcomes are counted under (`none`: reached nobody)."""

ROUTE_SOURCES: Mapping[str, str] = {
    "project": N_("this project's own"),
    "tenant": N_("every project's"),
    "default": N_("built in"),
}


def word(table: Mapping[str, str], code: object) -> str:
    """The message id for `code` in `table`, else the code itself."""
    return table.get(str(code), str(code))
