"""A scripted week of two projects, Mon 2026-09-21 to Sun 2026-09-27 (Asia/Shanghai).

The week holds a public holiday (Fri 25 Sep, Mid-Autumn Festival) and follows a make-up
working day (Sun 20 Sep, 调休). The SLA outcomes are the ones dispatch records for these
facts (24×7 clocks: arrival 3 min, resolution 2 days from the report unless a promise
moves it); the expected figures are worked out by hand in the tests that use it.

sunny (1,000 households), river (400 households):

| order | project | what happens (local time) |
|---|---|---|
| R0 | sunny | repair reported Sun 20 10:00 (the make-up working day), arrived 10:02, completed 12:00; rated 5 on Mon 21 10:00 |
| R1 | sunny | repair Mon 21 09:00, arrived 09:02, completed Tue 22 10:00, feedback Wed 23 09:00 (reply clock met), rated 3 Wed 23 09:30, visited again and re-rated 5 Wed 23 10:00, closed |
| R2 | sunny | repair Tue 22 20:00, arrival breached at 20:03, arrived 20:10 (late), completed Wed 23 09:00 |
| R3 | sunny | repair Thu 24 16:00, the resident agrees to a later arrival, arrived 16:20 (missed with consent); postponed past the holiday; still open |
| C1 | sunny | complaint Fri 25 10:00 (the holiday), arrived 10:02, marked valid, feedback 15:00, completed Sat 26 11:00, rated 3 Sun 27 10:00 |
| S1 | sunny | suggestion Sat 26 09:00, feedback Sun 27 09:00; still open |
| R5 | sunny | repair Sun 27 18:00, arrival breached at 18:03, arrived 18:15 (late), work started; still open (its resolution clock runs) |
| R4 | river | repair Mon 21 00:30 (Sun 20 16:30 UTC), arrived 00:32, completed 11:00, rated 4 11:30, reopened Wed 23 09:00, completed again 15:00 |
| C2 | river | complaint Wed 23 14:00, arrived 14:02, marked valid, feedback Thu 24 10:00; resolution breached Fri 25 14:00; still open |
| C3 | river | complaint Thu 24 09:00, arrived 09:01, marked not valid, completed 12:00 |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.unit.reporting.histories import OrderStory, envelope, project_event

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 27, 22, 0, tzinfo=SHANGHAI)
"""Sunday evening, after the week's last event."""


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in September 2026, Shanghai time."""
    return datetime(2026, 9, day, hour, minute, tzinfo=SHANGHAI)


def _repair_done(story: OrderStory, arrived: datetime, completed: datetime) -> None:
    story.emit("workorder.assigned", arrived, assignee="tech-wang")
    story.emit("workorder.arrived", arrived, technician="tech-wang")
    story.clock_met("arrival", arrived, on_time=True)
    story.emit("workorder.work_started", arrived)
    story.emit("workorder.completed", completed, summary="fixed")
    story.clock_met("resolution", completed, on_time=True)


def week() -> tuple[list[dict[str, object]], dict[str, str]]:
    """The week's events in publishing order, and the order ids by name."""
    events: list[dict[str, object]] = [
        project_event("sunny", 1000, local(1, 9)),
        project_event("river", 400, local(1, 9)),
    ]
    ids: dict[str, str] = {}

    r0 = OrderStory("sunny", "repair", local(20, 10)).reported(local(20, 10))
    _repair_done(r0, local(20, 10, 2), local(20, 12))
    r0.emit("workorder.follow_up_recorded", local(21, 10), rating=5)

    r1 = OrderStory("sunny", "repair", local(21, 9), building="b2").reported(local(21, 9))
    _repair_done(r1, local(21, 9, 2), local(22, 10))
    r1.clock_started("reply", local(22, 10), timedelta(hours=8))
    r1.emit("workorder.feedback_given", local(23, 9), message="已修好")
    r1.clock_met("reply", local(23, 9), on_time=True)
    r1.emit("workorder.follow_up_recorded", local(23, 9, 30), rating=3)
    r1.emit("workorder.follow_up_recorded", local(23, 10), rating=5)
    r1.emit("workorder.closed", local(23, 10))

    r2 = OrderStory("sunny", "repair", local(22, 20)).reported(local(22, 20))
    r2.emit("workorder.assigned", local(22, 20, 1), assignee="tech-li")
    r2.clock_breached("arrival", local(22, 20, 3), local(22, 20, 3))
    r2.emit("workorder.arrived", local(22, 20, 10), technician="tech-li")
    r2.clock_met("arrival", local(22, 20, 10), on_time=False)
    r2.emit("workorder.completed", local(23, 9), summary="fixed")
    r2.clock_met("resolution", local(23, 9), on_time=True)

    r3 = OrderStory("sunny", "repair", local(24, 16)).reported(local(24, 16))
    r3.emit("workorder.assigned", local(24, 16, 1), assignee="tech-li")
    r3.emit("workorder.arrival_delay_agreed", local(24, 16, 2),
            agreed_arrival_at=local(24, 16, 30).isoformat(), reason="业户在外")  # fmt: skip
    r3.emit("workorder.arrived", local(24, 16, 20), technician="tech-li")
    r3.clock_met("arrival", local(24, 16, 20), on_time=True, consent=True)
    r3.emit("workorder.postponed", local(25, 9), previous_due_at=local(26, 16).isoformat(),
            new_due_at=local(28, 18).isoformat(), reason="中秋节配件未到",
            postponement_number=1)  # fmt: skip

    c1 = OrderStory("sunny", "complaint", local(25, 10), category="noise").reported(local(25, 10))
    c1.emit("workorder.arrived", local(25, 10, 2), technician="cs-zhao")
    c1.clock_met("arrival", local(25, 10, 2), on_time=True)
    c1.emit("workorder.complaint_validity_marked", local(25, 11), valid=True, reason="属实")
    c1.emit("workorder.feedback_given", local(25, 15), message="正在处理")
    c1.emit("workorder.completed", local(26, 11), summary="已协调")
    c1.clock_met("resolution", local(26, 11), on_time=True)
    c1.emit("workorder.follow_up_recorded", local(27, 10), rating=3)

    s1 = OrderStory("sunny", "suggestion", local(26, 9), category="greening")
    s1.reported(local(26, 9))
    s1.emit("workorder.feedback_given", local(27, 9), message="已转物业经理")

    r5 = OrderStory("sunny", "repair", local(27, 18)).reported(local(27, 18))
    r5.emit("workorder.assigned", local(27, 18, 1), assignee="tech-li")
    r5.clock_breached("arrival", local(27, 18, 3), local(27, 18, 3))
    r5.emit("workorder.arrived", local(27, 18, 15), technician="tech-li")
    r5.clock_met("arrival", local(27, 18, 15), on_time=False)
    r5.emit("workorder.work_started", local(27, 18, 15))

    r4 = OrderStory("river", "repair", local(21, 0, 30)).reported(local(21, 0, 30))
    _repair_done(r4, local(21, 0, 32), local(21, 11))
    r4.emit("workorder.follow_up_recorded", local(21, 11, 30), rating=4)
    r4.emit("workorder.reopened", local(23, 9), reason="又漏了")
    r4.clock_started("resolution", local(23, 9), timedelta(days=2), cycle=2)
    r4.emit("workorder.completed", local(23, 15), summary="换了阀门")
    r4.clock_met("resolution", local(23, 15), on_time=True)

    c2 = OrderStory("river", "complaint", local(23, 14), category="noise").reported(local(23, 14))
    c2.emit("workorder.arrived", local(23, 14, 2), technician="cs-zhao")
    c2.clock_met("arrival", local(23, 14, 2), on_time=True)
    c2.emit("workorder.complaint_validity_marked", local(23, 15), valid=True, reason="属实")
    c2.emit("workorder.feedback_given", local(24, 10), message="已联系施工方")
    c2.clock_breached("resolution", local(25, 14), local(25, 14))

    c3 = OrderStory("river", "complaint", local(24, 9), category="parking").reported(local(24, 9))
    c3.emit("workorder.arrived", local(24, 9, 1), technician="cs-zhao")
    c3.clock_met("arrival", local(24, 9, 1), on_time=True)
    c3.emit("workorder.complaint_validity_marked", local(24, 10), valid=False, reason="不属实")
    c3.emit("workorder.completed", local(24, 12), summary="已解释")
    c3.clock_met("resolution", local(24, 12), on_time=True)

    for name, story in (("R0", r0), ("R1", r1), ("R2", r2), ("R3", r3), ("C1", c1),
                        ("S1", s1), ("R5", r5), ("R4", r4), ("C2", c2), ("C3", c3)):  # fmt: skip
        ids[name] = story.order_id
        events.extend(story.events)
    return events, ids


def one_more_rating(
    events: list[dict[str, object]], order_id: str, rating: int
) -> dict[str, object]:
    """A further follow-up rating of an order of the week (its stream's next version), Sun 21:00."""
    version = max(int(str(e["sequence"])) for e in events if e["subject"] == order_id)
    first = next(e for e in events if e["subject"] == order_id)
    return envelope(
        "workorder.follow_up_recorded", order_id, str(first["project"]), version + 1,
        local(27, 21), {"rating": rating},
    )  # fmt: skip
