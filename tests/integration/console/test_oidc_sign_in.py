"""Production sign-in: OpenID Connect with PKCE against a loopback provider.

The console runs as in production (its session cookie `Secure`, so the browser reaches it
over https in process); the provider is served on a loopback port; dispatch trusts the
provider's JWKS and nothing else, so a page that shows dispatch's data proves the console
called it with the provider's access token. A browser is an httpx client following every
redirect: console, provider, callback, console page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from services.console.domain.orders import order_label
from services.console.entrypoints.app import create_app
from services.console.settings import ConsoleSettings
from shared.auth import Role
from shared.clock import ManualClock
from tests.integration.console.oidc_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    LoopbackProvider,
    Misbehaviour,
    Person,
)
from tests.integration.console.support import hidden, served
from tests.integration.dispatch.api_support import TENANT, Api, report_body, running_api
from tests.integration.notify.conftest import log_output  # noqa: F401 (a fixture)
from wo.processes import free_port

CONSOLE = "https://console.test"
DISPATCHER = Person("disp-li", "李调度", Role.DISPATCHER, TENANT, ("sunny",))
HQ = Person("hq-zhou", "周品质", Role.HQ_QUALITY, TENANT, ("*",))
CUSTOMER_SERVICE = Person("cs-chen", "陈客服", Role.CUSTOMER_SERVICE, TENANT, ("sunny",))


@asynccontextmanager
async def browser_of(console: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh browser: `console` in process over https, the provider over loopback."""
    async with httpx.AsyncClient(
        base_url=CONSOLE,
        mounts={"all://console.test": httpx.ASGITransport(app=console)},
        follow_redirects=True,
        trust_env=False,
    ) as client:
        yield client


@dataclass
class OidcStack:
    """The provider, dispatch trusting it, and the console signing in at it."""

    provider: LoopbackProvider
    api: Api
    console: FastAPI
    clock: ManualClock

    def browser(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        """A fresh browser of this console."""
        return browser_of(self.console)

    def bearer(self, person: Person) -> dict[str, str]:
        """The Authorization header of `person`'s access token from the provider."""
        return {"Authorization": f"Bearer {self.provider.access_token(person)}"}


@pytest.fixture
async def oidc(database_url: str) -> AsyncIterator[OidcStack]:
    provider = LoopbackProvider(DISPATCHER)
    async with served(provider.app()) as issuer:
        provider.issuer = issuer
        trust: dict[str, Any] = {
            "jwt_jwks_url": provider.jwks_url,
            "jwt_issuer": issuer,
            "jwt_audience": AUDIENCE,
        }
        async with running_api(database_url, register_projects=False, **trust) as api:
            stack = OidcStack(provider, api, FastAPI(), ManualClock(datetime.now(UTC)))
            details = {"name": "阳光花园", "time_zone": "Asia/Shanghai", "households": 1200}
            registered = await api.client.post(
                "/v1/projects",
                json={"project": "sunny", "details": details},
                headers=stack.bearer(HQ),
            )
            assert registered.status_code == 201, registered.text
            settings = ConsoleSettings(
                environment="production",
                oidc_issuer=issuer,
                oidc_client_id=CLIENT_ID,
                oidc_client_secret=CLIENT_SECRET,
                oidc_redirect_url=f"{CONSOLE}/sign-in/callback",
                **trust,
            )
            stack.console = create_app(settings, stack.clock, api.transport)
            async with stack.console.router.lifespan_context(stack.console):
                yield stack


async def signed_out(browser: httpx.AsyncClient) -> bool:
    """Whether the browser has no signed-in session (a page sends it to the sign-in)."""
    page = await browser.get("/dispatch", follow_redirects=False)
    return page.status_code == 303 and page.headers["location"] == "/sign-in"


async def answer_of(browser: httpx.AsyncClient) -> dict[str, str]:
    """Start a sign-in and take the provider's answer (code and state) without returning."""
    start = await browser.get("/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303
    at_provider = await browser.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"{CONSOLE}/sign-in/callback"
    return {name: values[0] for name, values in parse_qs(back.query).items()}


async def callback(browser: httpx.AsyncClient, answer: dict[str, str]) -> httpx.Response:
    """Return to the console with `answer`, as the provider's redirect does."""
    return await browser.get(f"/sign-in/callback?{urlencode(answer)}")


async def test_a_dispatcher_signs_in_at_the_provider_and_dispatch_answers_the_console(
    oidc: OidcStack,
) -> None:
    reported = await oidc.api.client.post(
        "/v1/work-orders", json=report_body(), headers=oidc.bearer(CUSTOMER_SERVICE)
    )
    assert reported.status_code == 201, reported.text
    async with oidc.browser() as browser:
        sign_in = await browser.get("/dispatch")
        assert str(sign_in.url) == f"{CONSOLE}/sign-in"
        assert 'data-testid="oidc-sign-in"' in sign_in.text
        assert "data-person" not in sign_in.text  # no development sign-in here

        page = await browser.get("/sign-in/oidc")

        assert page.status_code == 200, page.text
        assert str(page.url) == f"{CONSOLE}/dispatch"
        went = [urlsplit(str(hop.url)) for hop in page.history]
        assert [hop.path for hop in went[:3]] == [
            "/sign-in/oidc",
            "/authorize",
            "/sign-in/callback",
        ]
        assert went[1].netloc == urlsplit(oidc.provider.issuer).netloc
        assert 'data-testid="who">李调度 · ' in page.text
        assert order_label(reported.json()) in page.text
        assert "eyJ" not in page.text
        cookie = page.history[2].headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie


async def test_the_page_to_go_back_to_is_never_another_site(oidc: OidcStack) -> None:
    async with oidc.browser() as browser:
        page = await browser.get("/sign-in/oidc", params={"next": "//evil.example/x"})

        assert str(page.url) == f"{CONSOLE}/dispatch"


async def test_the_token_expiring_sends_the_person_to_sign_in_again(oidc: OidcStack) -> None:
    async with oidc.browser() as browser:
        assert (await browser.get("/sign-in/oidc")).url.path == "/dispatch"

        # The provider stamps `exp` by the wall clock when it signs, which may be seconds
        # after the console's clock was set (a loaded machine): go past that moment.
        expired = datetime.now(UTC) + oidc.provider.token_lifetime + timedelta(seconds=1)
        oidc.clock.advance(expired - oidc.clock.now())

        assert await signed_out(browser)
        # The console's clock is now ahead of the provider's: a fresh token outlives both.
        oidc.provider.token_lifetime = timedelta(hours=2)
        again = await browser.get("/sign-in/oidc")
        assert again.status_code == 200 and again.url.path == "/dispatch"


async def test_signing_out_forgets_the_session_and_signs_out_at_the_provider(
    oidc: OidcStack,
) -> None:
    async with oidc.browser() as browser:
        page = await browser.get("/sign-in/oidc")

        out = await browser.post("/sign-out", data={"csrf": hidden(page.text, "csrf") or ""})

        assert oidc.provider.signed_out == [DISPATCHER.subject]
        assert [urlsplit(str(hop.url)).path for hop in out.history] == ["/sign-out", "/logout"]
        assert str(out.url) == f"{CONSOLE}/sign-in"
        assert 'data-testid="oidc-sign-in"' in out.text
        assert await signed_out(browser)


async def test_signing_out_stays_on_the_console_when_the_provider_has_no_end_session(
    oidc: OidcStack,
) -> None:
    oidc.provider.offers_sign_out = False
    async with oidc.browser() as browser:
        page = await browser.get("/sign-in/oidc")

        out = await browser.post(
            "/sign-out", data={"csrf": hidden(page.text, "csrf") or ""}, follow_redirects=False
        )

        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert await signed_out(browser)


async def test_the_development_sign_in_is_refused_in_production(oidc: OidcStack) -> None:
    async with oidc.browser() as browser:
        page = await browser.get("/sign-in")

        refused = await browser.post(
            "/sign-in", data={"csrf": hidden(page.text, "csrf") or "", "person": "dev-dispatcher"}
        )

        assert refused.status_code == 403
        assert "此处只能使用公司账号登录" in refused.text
        assert await signed_out(browser)


async def test_a_forged_state_is_refused_and_the_genuine_answer_still_signs_in(
    oidc: OidcStack,
) -> None:
    async with oidc.browser() as browser:
        answer = await answer_of(browser)

        forged = await callback(browser, {**answer, "state": "forged"})

        assert forged.status_code == 400
        assert "(state)" in forged.text
        assert await signed_out(browser)
        genuine = await callback(browser, answer)
        assert genuine.status_code == 200 and genuine.url.path == "/dispatch"


async def test_an_answer_is_refused_in_another_browser_than_the_one_that_asked(
    oidc: OidcStack,
) -> None:
    async with oidc.browser() as victim, oidc.browser() as attacker:
        answer = await answer_of(attacker)

        planted = await callback(victim, answer)

        assert planted.status_code == 400 and "(state)" in planted.text
        assert await signed_out(victim)


async def test_a_code_injected_into_another_sign_in_fails_pkce_at_the_provider(
    oidc: OidcStack,
) -> None:
    async with oidc.browser() as browser:
        first, second = await answer_of(browser), await answer_of(browser)

        injected = await callback(browser, {"code": first["code"], "state": second["state"]})

        assert injected.status_code == 400
        assert "invalid_grant" in injected.text
        assert oidc.provider.refusals == ["PKCE verification failed"]
        assert await signed_out(browser)


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [
        (Misbehaviour(id_token_nonce="another-request"), "nonce is not this sign-in"),
        (Misbehaviour(id_token_audience="another-client"), "Audience doesn"),
        (Misbehaviour(id_token_signed_by_stranger=True), "Signature verification failed"),
        (Misbehaviour(id_token_tampered=True), "Signature verification failed"),
        (Misbehaviour(id_token_lifetime=timedelta(minutes=-10)), "Signature has expired"),
        (Misbehaviour(access_token_audience="another-api"), "services would refuse the access"),
    ],
    ids=[
        "bad-nonce",
        "wrong-audience",
        "signed-by-another-key",
        "claims-changed-after-signing",
        "expired",
        "access-token-audience",
    ],
)
async def test_a_wrong_token_from_the_provider_is_refused_with_no_session(
    oidc: OidcStack, misbehaviour: Misbehaviour, reason: str
) -> None:
    oidc.provider.misbehaviour = misbehaviour
    async with oidc.browser() as browser:
        refused = await browser.get("/sign-in/oidc")

        assert refused.status_code in (400, 401), refused.text
        assert refused.url.path == "/sign-in/callback"
        assert "使用公司账号登录失败" in refused.text and reason in refused.text
        assert await signed_out(browser)


async def test_a_person_whose_role_has_no_console_pages_is_refused(oidc: OidcStack) -> None:
    oidc.provider.person = Person("res-1", "住户", Role.RESIDENT, TENANT, ("sunny",))
    async with oidc.browser() as browser:
        refused = await browser.get("/sign-in/oidc")

        assert refused.status_code == 400
        assert "the role resident has no pages in the console" in refused.text
        assert await signed_out(browser)


async def test_a_provider_that_does_not_answer_is_said_so() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = ConsoleSettings(
        environment="production",
        jwt_jwks_url=f"{closed}/jwks",
        oidc_issuer=closed,
        oidc_client_id=CLIENT_ID,
        oidc_redirect_url=f"{CONSOLE}/sign-in/callback",
    )
    console = create_app(settings)
    async with console.router.lifespan_context(console), browser_of(console) as browser:
        page = await browser.get("/sign-in/oidc")

    assert page.status_code == 503
    assert "the identity provider did not answer" in page.text


async def test_the_provider_refusing_the_person_is_said_so(oidc: OidcStack) -> None:
    async with oidc.browser() as browser:
        answer = await answer_of(browser)

        denied = await callback(
            browser,
            {"state": answer["state"], "error": "access_denied", "error_description": "locked"},
        )

        assert denied.status_code == 400
        assert "access_denied (locked)" in denied.text
        assert await signed_out(browser)


async def test_no_token_code_or_secret_is_logged(
    oidc: OidcStack,
    log_output: Callable[[], str],  # noqa: F811 (the fixture)
) -> None:
    async with oidc.browser() as browser:
        answer = await answer_of(browser)
        await callback(browser, answer)
        oidc.provider.misbehaviour = Misbehaviour(id_token_audience="another-client")
        refused = await answer_of(browser)
        assert (await callback(browser, refused)).status_code == 400

    # The browser's own client logs the callback's URL, code included: not the console's lines.
    logged = "\n".join(line for line in log_output().splitlines() if f"{CONSOLE}/" not in line)
    assert "console.signed_in" in logged and "console.sign_in_refused" in logged
    secrets = [*oidc.provider.issued, CLIENT_SECRET]
    assert len(secrets) > 5
    assert [s for s in secrets if s in logged] == []
