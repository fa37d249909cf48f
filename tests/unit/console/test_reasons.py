"""The assign page words dispatch's reasons from their codes and facts, in either language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.console.adapters.catalogs import load_translations
from services.console.domain.languages import Language
from services.console.entrypoints.labels import INELIGIBLE
from services.console.entrypoints.reasons import ineligible_reason, suggestion_reasons
from services.dispatch.domain.assignment import IneligibleCode

PROJECTS = {"sunny": {"name": "阳光花园", "buildings": [{"id": "b1", "name": "1号楼"}]}}
NO_FACTS = {"trade": None, "availability": None, "open_orders": None, "limit": None}


def gettext_in(language: Language) -> Callable[..., str]:
    """The visit's gettext: the catalog's text, with its parameters filled in."""
    translations = load_translations(language)

    def gettext(message: str, **params: Any) -> str:
        text = translations.gettext(message)
        return text % params if params else text

    return gettext


def suggestion(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "technician": "tech-wang",
        "rank": 1,
        "open_orders": 2,
        "idle_seconds": 5400.0,
        "rotation": 3,
        "reasons": ["skill plumbing", "covers sunny building b1", "on duty"],
        "trade": "plumbing",
        "project": "sunny",
        "building": "b1",
        "limit": 5,
    }
    return found | changes


def refusal(code: str, **facts: Any) -> dict[str, Any]:
    return {"staff_id": "x", "why": f"dispatch's words for {code}", "code": code} | NO_FACTS | facts


REFUSALS: dict[str, tuple[dict[str, Any], str, str]] = {
    "not_technician": ({}, "not a technician", "不是维修工"),
    "no_skill": ({"trade": "plumbing"}, "not skilled in Plumbing", "不具备水暖技能"),
    "not_covering": ({}, "does not cover this location", "不负责此位置"),
    "unavailable": ({"availability": "off"}, "availability: Off", "当前状态：离岗"),
    "off_shift": ({}, "not on a roster shift now", "当前不在排班中"),
    "offered_already": ({}, "was offered this order already", "已推送过此工单"),
    "at_load_limit": (
        {"open_orders": 5, "limit": 5},
        "has 5 open orders, limit 5",
        "未完成工单 5 个，已达上限 5 个",
    ),
}


def test_every_code_dispatch_gives_has_words_here() -> None:
    assert set(INELIGIBLE) == {code.value for code in IneligibleCode} == set(REFUSALS)


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_each_reason_someone_is_not_eligible_is_worded_in_both_languages(code: str) -> None:
    facts, english, chinese = REFUSALS[code]

    assert ineligible_reason(refusal(code, **facts), gettext_in(Language.EN)) == english
    assert ineligible_reason(refusal(code, **facts), gettext_in(Language.ZH_CN)) == chinese


def test_an_unknown_code_or_a_missing_fact_shows_dispatchs_own_words() -> None:
    chinese = gettext_in(Language.ZH_CN)

    assert ineligible_reason(refusal("on_leave"), chinese) == "dispatch's words for on_leave"
    assert ineligible_reason(refusal("no_skill"), chinese) == "dispatch's words for no_skill"
    assert ineligible_reason({"staff_id": "x", "why": "old"}, chinese) == "old"


def test_an_unknown_trade_or_availability_is_shown_as_its_code() -> None:
    chinese = gettext_in(Language.ZH_CN)

    assert ineligible_reason(refusal("no_skill", trade="hvac"), chinese) == "不具备hvac技能"
    assert ineligible_reason(refusal("unavailable", availability="away"), chinese) == (
        "当前状态：away"
    )


def test_a_suggestions_reasons_are_worded_in_both_languages() -> None:
    english = suggestion_reasons(suggestion(), PROJECTS, gettext_in(Language.EN))
    chinese = suggestion_reasons(suggestion(), PROJECTS, gettext_in(Language.ZH_CN))

    assert english == [
        "skilled in Plumbing",
        "covers 阳光花园 1号楼",
        "on duty",
        "2 open orders of 5 allowed",
        "idle 1 h 30 min",
        "rotation position 3",
    ]
    assert chinese == [
        "具备水暖技能",
        "负责 阳光花园 1号楼",
        "在岗",
        "未完成工单 2 个（上限 5 个）",
        "已空闲 1 小时 30 分钟",
        "轮转顺位 3",
    ]


def test_urgent_never_assigned_and_short_idle_times_read_as_such() -> None:
    chinese = gettext_in(Language.ZH_CN)
    english = gettext_in(Language.EN)
    urgent = suggestion(limit=None, idle_seconds=None, building=None)

    assert suggestion_reasons(urgent, PROJECTS, english)[1:5] == [
        "covers 阳光花园",
        "on duty",
        "2 open orders (urgent: load limit skipped)",
        "never assigned",
    ]
    assert suggestion_reasons(urgent, PROJECTS, chinese)[3:5] == [
        "未完成工单 2 个（紧急工单，不受上限限制）",
        "从未派过工",
    ]
    assert suggestion_reasons(suggestion(idle_seconds=42.4), {}, chinese)[1:5:3] == [
        "负责 sunny b1",
        "已空闲 42 秒",
    ]
    assert suggestion_reasons(suggestion(idle_seconds=600.0), {}, english)[4] == "idle 10 min"


def test_a_suggestion_without_its_facts_shows_dispatchs_own_reasons() -> None:
    older = {k: v for k, v in suggestion().items() if k not in {"trade", "limit"}}

    assert suggestion_reasons(older, PROJECTS, gettext_in(Language.ZH_CN)) == [
        "skill plumbing",
        "covers sunny building b1",
        "on duty",
    ]
