"""The quality page's scope over a real dispatch and a real reporting: figures filtered by
building, category, technician or team, split per group against their targets, the
drill-down keeping the filters, and notify's delivery outcomes beside the KPIs."""

from __future__ import annotations

import re
import uuid
from html import unescape

from shared.envelope import Envelope
from shared.nats import connect, ensure_streams
from tests.integration.console.test_quality import (
    HQ,
    QualityStack,
    cards,
    quality,
    repaired_and_breached,
    reporting_database,
    visible_text,
)
from tests.integration.dispatch.api_support import TENANT
from tests.integration.notify.support import eventually

__all__ = ["quality", "reporting_database"]  # the fixtures these tests use


def chosen(html: str, name: str) -> str | None:
    """The value selected in the period form's `name` select (None: the first, empty one)."""
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else None


def link(html: str, pattern: str) -> str:
    """The first href matching `pattern`, unescaped."""
    found = re.search(pattern, html)
    assert found is not None, pattern
    return unescape(found.group(1))


async def test_the_figures_narrow_to_a_technician_building_kind_category_and_team(
    quality: QualityStack,
) -> None:
    done, waiting = await repaired_and_breached(quality)
    async with quality.console.browser() as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality")
        form = page.text.split('data-testid="period-form"')[1].split("</form>")[0]
        # Every filter offers names, never ids: the directory's people and teams, the
        # project's buildings, the categories in the reader's language.
        assert '<option value="tech-wang">王师傅</option>' in form
        assert '<option value="maintenance">维修班</option>' in form
        assert '<option value="b1">1号楼 (阳光花园)</option>' in form
        assert '<option value="plumbing">水暖</option>' in form

        wang = await hq.page("/quality", params={"technician": "tech-wang"})
        assert chosen(wang.text, "technician") == "tech-wang"
        assert "20 分钟" in cards(wang.text)["time_to_arrive"]
        # The waiting order has nobody assigned: it is not at risk for 王师傅.
        assert 'data-testid="at-risk-empty"' in wang.text
        live = link(wang.text, r'data-live="(/quality/live\?[^"]*)"')
        assert "technician=tech-wang" in live
        assert 'data-testid="at-risk-empty"' in (await hq.page(live)).text
        # The exports carry the filter as well.
        export = link(wang.text, r'href="(/quality/export\?[^"]*format=csv[^"]*)"')
        assert "technician=tech-wang" in export

        zhao = await hq.page("/quality", params={"technician": "tech-zhao"})
        assert 'data-testid="chart-empty"' in cards(zhao.text)["time_to_arrive"]

        building = await hq.page("/quality", params={"building": "b1", "category": "plumbing"})
        assert chosen(building.text, "building") == "b1"
        assert chosen(building.text, "category") == "plumbing"
        row = building.text.split(f'data-order="{waiting["number"]}"')
        assert len(row) == 2, "the waiting plumbing order of 1号楼 is at risk"

        repairs = await hq.page("/quality", params={"kind": "repair"})
        assert chosen(repairs.text, "kind") == "repair"
        assert "20 分钟" in cards(repairs.text)["time_to_arrive"]
        complaints = await hq.page("/quality", params={"kind": "complaint"})
        assert 'data-testid="chart-empty"' in cards(complaints.text)["time_to_arrive"]

        team = await hq.page("/quality", params={"team": "maintenance"})
        assert chosen(team.text, "team") == "maintenance"

        # A value the page does not offer is dropped: the wider figure, never a blank one.
        unknown = await hq.page("/quality", params={"technician": "nobody", "building": "b9"})
        assert unknown.status_code == 200
        assert chosen(unknown.text, "technician") is None
        assert chosen(unknown.text, "building") is None
        assert "20 分钟" in cards(unknown.text)["time_to_arrive"]
        assert str(done["id"]) not in visible_text(unknown.text)


async def test_the_figures_per_technician_stand_against_the_target(
    quality: QualityStack,
) -> None:
    _, waiting = await repaired_and_breached(quality)
    async with quality.console.browser() as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality", params={"group_by": "technician"})
        assert page.status_code == 200, page.text
        assert chosen(page.text, "group_by") == "technician"
        found = cards(page.text)
        arrive = found["time_to_arrive"]
        assert 'data-testid="groups"' in arrive and "按维修工" in arrive
        wang = arrive.split('data-group="tech-wang"')[1].split("</tr>")[0]
        assert "王师傅" in wang and "20 分钟" in wang
        # A KPI nothing counted yet has no groups: no empty table under its card.
        assert 'data-testid="groups"' not in found["time_to_feedback"]
        # A ratio's group is written against the KPI's target, in words and a symbol.
        timeliness = found["repair_timeliness"]
        nobody = timeliness.split('data-group=""')[1].split("</tr>")[0]
        assert "未指定" in nobody and "✗" in nobody and "未达目标" in nobody
        assert "0 / 1" in nobody
        # The group without a technician cannot be narrowed to: its figure is no link.
        assert "/quality/orders" not in nobody
        # The grouping stays in every link of the page (the live part, the periods).
        assert "group_by=technician" in link(page.text, r'data-live="([^"]*)"')
        assert "group_by=technician" in link(page.text, r'href="([^"]*)" data-testid="period-next"')
        assert str(waiting["id"]) not in visible_text(page.text)
        unknown = await hq.page("/quality", params={"group_by": "resident"})
        assert unknown.status_code == 200 and 'data-testid="groups"' not in unknown.text


async def test_a_groups_figure_drills_down_to_its_orders_with_the_filters_kept(
    quality: QualityStack,
) -> None:
    done, waiting = await repaired_and_breached(quality)
    async with quality.console.browser("en") as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality", params={"group_by": "technician", "building": "b1"})
        arrive = cards(page.text)["time_to_arrive"]
        drill = link(arrive, r'href="(/quality/orders\?[^"]*)" data-testid="group-figure"')
        assert "technician=tech-wang" in drill and "building=b1" in drill
        orders = await hq.page(drill)
        assert orders.status_code == 200, orders.text
        assert f'data-order="{done["number"]}"' in orders.text
        assert "1 of 1 shown." in visible_text(orders.text)
        # The drill-down's own form keeps the filters, and so does its way back.
        assert chosen(orders.text, "technician") == "tech-wang"
        assert chosen(orders.text, "building") == "b1"
        back = link(orders.text, r'href="(/quality\?[^"]*)">Back to the KPIs')
        assert "technician=tech-wang" in back and "building=b1" in back
        # The breaches behind the figure for 王师傅 leave out the order nobody took.
        breaches = await hq.page(
            "/quality/orders", params={"kpi": "sla_breaches", "technician": "tech-wang"}
        )
        assert f'data-order="{waiting["number"]}"' not in breaches.text
        everyone = await hq.page("/quality/orders", params={"kpi": "sla_breaches"})
        assert f'data-order="{waiting["number"]}"' in everyone.text


async def publish_outcomes(stack: QualityStack, order_id: str) -> None:
    """notify's events for one SMS sent and one escalation that reached nobody."""
    at = stack.console.api.clock.now()
    common = {
        "event_type": "workorder.sla_escalated",
        "work_order_id": order_id,
        "recipient": "person:supervisor-on-duty",
        "language": "zh-CN",
        "attempts": 0,
    }
    outcomes = [
        ("notification.sent", "dl-sms", {"channel": "sms", "template": "sla_breached",
                                         "sent_at": at.isoformat()}),
        ("notification.unreached", "dl-nobody", {"channel": "none", "template": "sla_escalated",
                                                 "reason": "no supervisor is on duty"}),
    ]  # fmt: skip
    bus = await connect(stack.nats_url, name="quality-test-notify")
    try:
        js = bus.jetstream()
        await ensure_streams(js)
        for type_name, delivery, data in outcomes:
            envelope = Envelope.model_validate(
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": "/notify",
                    "type": f"{type_name}.v1",
                    "subject": f"notification:{delivery}",
                    "time": at.isoformat(),
                    "datacontenttype": "application/json",
                    "data": {**common, "delivery_id": delivery, **data},
                    "tenant": TENANT,
                    "project": "sunny",
                    "sequence": 1,
                    "correlationid": "test",
                    "causationid": None,
                    "actor": "notify",
                }
            )
            await js.publish(
                envelope.nats_subject(), envelope.to_json(), headers={"Nats-Msg-Id": delivery}
            )
    finally:
        await bus.drain()


async def test_the_notification_outcomes_appear_beside_the_figures_without_a_reload(
    quality: QualityStack,
) -> None:
    done, _ = await repaired_and_breached(quality)
    async with quality.console.browser() as hq:
        await hq.sign_in(HQ)
        page = await hq.page("/quality")
        assert 'data-testid="notifications-empty"' in page.text
        live = link(page.text, r'data-live="(/quality/live\?[^"]*)"')
        await publish_outcomes(quality, str(done["id"]))

        async def counted() -> bool:
            return 'data-testid="delivery-rate"' in (await hq.page(live)).text

        await eventually(counted, what="reporting folding notify's outcomes")
        after = (await hq.page(live)).text
        assert "通知送达情况" in after
        rate = after.split('data-testid="delivery-rate"')[1].split("</p>")[0]
        assert "50.0%" in rate
        channels = after.split('data-testid="notifications-by-channel"')[1].split("</table>")[0]
        sms = channels.split('data-channel="sms"')[1].split("</tr>")[0]
        assert "短信" in sms and '<td data-outcome="sent">1</td>' in sms
        nobody = channels.split('data-channel="none"')[1].split("</tr>")[0]
        assert "无渠道" in nobody and '<td data-outcome="unreached">1</td>' in nobody
        templates = after.split('data-testid="notifications-by-template"')[1]
        assert 'data-template="sla_escalated"' in templates
        # A notification has no building or technician: under such a filter the page
        # says so rather than showing every project's outcomes as the building's.
        narrowed = await hq.page("/quality", params={"technician": "tech-wang"})
        assert 'data-testid="notifications-per-project"' in narrowed.text
        assert "通知只按项目统计" in narrowed.text
        # The project's own outcomes stay under the project filter.
        sunny = await hq.page("/quality", params={"project": "sunny"})
        assert 'data-testid="delivery-rate"' in sunny.text
