"""The life of a repair in a real headless Chromium (Debian's), in Chinese and in English.

Customer service takes a call; it appears in the dispatcher's queue without a reload; the
dispatcher assigns it from the suggestions; an electrical call is offered automatically;
the technician, on a 390 px phone screen, accepts the offer, arrives, starts, pauses for
parts, resumes and completes the assigned order; customer service's list shows the
completion without a reload, customer service records the follow-up with its rating,
"Messages sent" shows the resident's SMS (the receipt and the "done" message, kept by
notify's development outbox) as they arrive, and headquarters' quality page shows the
follow-up rate change without a reload. No page logs a console error and no request
fails. One stack serves both languages.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.integration.console.browsing import (
    DESKTOP,
    PHONE,
    Watch,
    needs_chromium,
    sign_in,
)
from tests.integration.console.support import served_stack
from wo.processes import NatsServer

pytestmark = needs_chromium

WORDS = {
    "zh-CN": {
        "take_call": "接听来电",
        "assigned_to": "已派给",
        "complete": "已完工",
        "followed_up": "的回访",
    },
    "en": {
        "take_call": "Take a call",
        "assigned_to": "assigned to",
        "complete": "is complete",
        "followed_up": "Follow-up of",
    },
}


async def take_call(page: Page, category: str, description: str) -> str:
    """Fill in and send the call form; returns the new order's id from "my orders"."""
    await page.select_option("#project", "sunny")
    await page.select_option("#building", "b1")
    await page.fill("#unit", "1-101")
    await page.select_option("#category", category)
    await page.fill("#description", description)
    await page.fill("#name", "张三")
    await page.fill("#phone", "13800000000")
    await page.click("[data-testid=submit-call]")
    await page.wait_for_selector("[data-testid=note]")
    row = page.locator(f"[data-testid=my-orders] li.order:has-text('{description}')")
    order_id = await row.get_attribute("data-order")
    assert order_id
    return order_id


async def confirm(page: Page, link: str, note: str | None = None, **choices: str) -> None:
    """One tap, then the confirmation (its words and choices filled in)."""
    await page.click(link)
    for element, value in choices.items():
        await page.select_option(f"#{element}", value)
    if note is not None:
        await page.fill("#note", note)
    await page.click("[data-testid=confirm]")
    await page.wait_for_selector("[data-testid=note]")


async def test_a_repair_from_the_call_to_completion_in_both_languages(
    database_url: str, nats_server: NatsServer, browser: Browser
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("the pages are the same over either database; SQLite keeps this test short")
    async with served_stack(database_url, nats_server.url) as url:
        for language in ("zh-CN", "en"):
            await life_of_a_repair(browser, url, language)


async def life_of_a_repair(browser: Browser, url: str, language: str) -> None:
    watch = Watch()
    words = WORDS[language]
    office = await browser.new_context(locale=language, viewport=DESKTOP)
    phone = await browser.new_context(
        locale=language, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        dispatcher = watch.page(await office.new_page(), "dispatcher")
        await sign_in(dispatcher, url, "dev-dispatcher")
        await dispatcher.wait_for_url(f"{url}/dispatch")
        await dispatcher.evaluate("window.openedOnce = true")

        # Customer service (another browser: its own session) takes the call.
        service_context = await browser.new_context(locale=language)
        service = watch.page(await service_context.new_page(), "customer service")
        await sign_in(service, url, "dev-customer_service")
        assert await service.locator("h1").text_content() == words["take_call"]
        assert await service.get_attribute("html", "lang") == language
        leak = f"kitchen pipe leaks ({language})"
        leak_id = await take_call(service, "plumbing", leak)

        # The dispatcher's queue shows it without a reload.
        waiting = dispatcher.locator(f"[data-testid=waiting] tr[data-order='{leak_id}']")
        await waiting.wait_for()
        assert await dispatcher.evaluate("window.openedOnce") is True
        assert await dispatcher.locator("[data-testid=at-risk] time.countdown").count() >= 1
        await waiting.locator("[data-testid=choose]").click()
        await dispatcher.click("[data-testid=assign-tech-wang]")
        await dispatcher.wait_for_url(f"{url}/dispatch")
        assert words["assigned_to"] in (
            await dispatcher.locator("[data-testid=note]").text_content() or ""
        )

        # An electrical call is offered to the electrician at once; the board says so.
        spark = f"socket sparks ({language})"
        spark_id = await take_call(service, "electrical", spark)
        offered = dispatcher.locator(f"[data-testid=offers] tr[data-order='{spark_id}']")
        await offered.wait_for()
        assert await offered.locator("[data-testid=holders]").text_content() == "tech-wang"

        # The technician on a phone: accept the offer, then work the assigned order.
        technician = watch.page(await phone.new_page(), "technician")
        await sign_in(technician, url, "tech-wang")
        await technician.wait_for_url(f"{url}/tech")
        width = await technician.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the phone page is {width} px wide"
        offer = technician.locator(f"[data-testid=offers] li[data-order='{spark_id}']")
        await confirm(technician, f"li[data-order='{spark_id}'] [data-testid=accept]")
        assert await offer.count() == 0
        mine = f"[data-testid=assigned] li[data-order='{leak_id}']"
        await confirm(technician, f"{mine} [data-testid=next-arrive]")
        await confirm(technician, f"{mine} [data-testid=next-start-work]")
        await confirm(technician, f"{mine} [data-testid=other-pause]", reason="waiting_for_parts")
        await confirm(technician, f"{mine} [data-testid=next-resume]")
        await confirm(technician, f"{mine} [data-testid=next-complete]", note="换了三通阀")
        assert words["complete"] in (
            await technician.locator("[data-testid=note]").text_content() or ""
        )

        # Headquarters quality opens its page; the follow-up rate is yet to move.
        headquarters = await browser.new_context(locale=language)
        quality = watch.page(await headquarters.new_page(), "headquarters quality")
        await sign_in(quality, url, "dev-hq_quality")
        await quality.wait_for_url(f"{url}/quality")
        rate = "[data-kpi=follow_up_rate]"
        visited = 1 if language == "zh-CN" else 2

        # Customer service's "my orders" shows the completion without a reload.
        order = f"[data-testid=my-orders] li[data-order='{leak_id}']"
        await service.locator(f"{order} [data-step=completed]").wait_for()

        # The follow-up visit (回访): the rating form, from the order.
        await confirm(
            service, f"{order} [data-testid=step-record-follow-up]", note="很满意", rating="5"
        )
        assert words["followed_up"] in (
            await service.locator("[data-testid=note]").text_content() or ""
        )
        await service.click("nav a[href='/follow-ups']")
        await service.wait_for_selector("[data-testid=follow-ups]")

        # What the resident received, shown as notify's development outbox keeps it: the
        # phone masked (the clear number was had from dispatch for the send only).
        await service.goto(f"{url}/calls")
        await service.click(f"{order} [data-testid=messages-sent]")
        for event in ("workorder.reported", "workorder.completed"):
            await service.locator(
                f"[data-testid=messages] li[data-event='{event}']:has-text('138****0000')"
            ).first.wait_for()
        await service_context.close()

        # Headquarters' quality page, open since before the follow-up, counts it.
        await quality.locator(f"{rate}:has-text('{visited} / {visited}')").wait_for()
        assert await quality.locator(f"{rate} [data-testid=chart]").count() == 1
        await headquarters.close()
    finally:
        await office.close()
        await phone.close()
    assert watch.problems == []
