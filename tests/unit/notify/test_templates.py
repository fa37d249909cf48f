"""Every template renders in zh-CN and en with the real fields of its event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.config import DEFAULT_ROUTES, Contact, TenantConfig
from services.notify.domain.routing import WorkOrderFacts, fold
from services.notify.service_layer.handler import message_context
from shared.errors import NotFound
from tests.unit.notify.builders import TENANT, envelope, story

CONFIG = TenantConfig(
    contacts={"cs-li": Contact(name="李客服"), "tech-wang": Contact(name="王师傅")}
)
SHANGHAI = "Asia/Shanghai"

# What each template must say, from its event, per language (local times are Shanghai's).
EXPECTED: dict[str, dict[str, list[str]]] = {
    "reported_receipt": {
        "zh-CN": ["李客服", "厨房水管漏水", "2026-11-23 10:00", "wo-1"],
        "en": ["李客服", "b1 1-101", "2026-11-23 10:00", "repair request"],
    },
    "reported_owner": {
        "zh-CN": ["张*", "138****0000", "首按责任制"],
        "en": ["张*", "138****0000", "wo-1"],
    },
    "assigned": {
        "zh-CN": ["wo-1", "厨房水管漏水", "b1 1-101"],
        "en": ["wo-1", "plumbing", "b1 1-101"],
    },
    "arrival_delay_agreed": {
        "zh-CN": ["2026-11-23 11:00", "住户在外"],
        "en": ["2026-11-23 11:00", "住户在外"],
    },
    "sla_warning": {
        "zh-CN": ["到场", "80%", "2026-11-23 10:03"],
        "en": ["arrival", "80%", "2026-11-23 10:03"],
    },
    "sla_breached": {
        "zh-CN": ["到场", "2026-11-23 10:03", "超时"],
        "en": ["arrival", "2026-11-23 10:03", "ran out"],
    },
    "sla_escalated": {
        "zh-CN": ["第1级", "breach", "李客服", "王师傅"],
        "en": ["level 1", "breach", "李客服", "王师傅"],
    },
    "commitment_made": {"zh-CN": ["2026-11-25 10:00"], "en": ["2026-11-25 10:00"]},
    "postponed": {
        "zh-CN": ["2026-11-25 10:00", "2026-11-26 10:00", "等配件"],
        "en": ["2026-11-25 10:00", "2026-11-26 10:00", "等配件"],
    },
    "appointment_missed": {
        "zh-CN": ["2026-11-24 10:00", "重新预约", "门上已贴提示条"],
        "en": ["2026-11-24 10:00", "book a new visit", "门上已贴提示条"],
    },
    "completed": {
        "zh-CN": ["换了三通阀", "1-5分", "回访"],
        "en": ["换了三通阀", "1 to 5", "follow up"],
    },
    "dispatch_pending": {
        "zh-CN": ["wo-1", "待派单", "已派单3次均未被接单"],
        "en": ["wo-1", "pending-dispatch", "all 3 offers"],
    },
    "feedback_given": {"zh-CN": ["已更换三通阀，请放心使用"], "en": ["已更换三通阀，请放心使用"]},
    "reopened": {"zh-CN": ["wo-1", "返修", "水管又漏了"], "en": ["wo-1", "reopened", "水管又漏了"]},
    "progress_reported": {
        "zh-CN": ["整改进度", "防水层已重做", "李客服", "2026-11-23 10:00"],
        "en": ["Progress", "防水层已重做", "李客服", "2026-11-23 10:00"],
    },
    "offered": {
        "zh-CN": ["wo-1", "可抢单", "2026-11-23 10:01", "accept-offer", "厨房水管漏水"],
        "en": ["wo-1", "grab", "2026-11-23 10:01", "accept-offer", "b1 1-101"],
    },
    # The owner's last update of the story is the completion.
    "owner_update": {
        "zh-CN": ["wo-1", "处理完毕", "换了三通阀", "回访"],
        "en": ["wo-1", "is done", "换了三通阀", "follow-up"],
    },
}


def rendered_story(language: str) -> dict[str, tuple[str, str, str]]:
    """Fold the story and render each event's default templates as notify would."""
    renderer = TemplateRenderer()
    facts = WorkOrderFacts()
    out: dict[str, tuple[str, str, str]] = {}
    for sequence, data in enumerate(story(), start=1):
        env = envelope(data, sequence)
        facts = fold(facts, env.type_name, env.data)
        for target in DEFAULT_ROUTES.get(env.type_name, ()):
            result = renderer.render(
                TENANT,
                target.template,
                language,
                SHANGHAI,
                message_context(env, facts, CONFIG, "张三"),
            )
            out[target.template] = (result.subject, result.text, result.html)
    return out


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_default_template_renders_its_events_fields(language: str) -> None:
    rendered = rendered_story(language)
    templates = {t.template for targets in DEFAULT_ROUTES.values() for t in targets}
    assert set(rendered) == templates == set(EXPECTED)
    for template, (subject, text, html) in rendered.items():
        assert subject and text, template
        for fragment in EXPECTED[template][language]:
            assert fragment in subject + text, (template, language, fragment)
        assert html.startswith("<!DOCTYPE html>") and "<h3>" in html


def test_languages_differ() -> None:
    assert rendered_story("zh-CN")["completed"][0] != rendered_story("en")["completed"][0]


def test_html_is_escaped_and_text_is_not() -> None:
    renderer = TemplateRenderer()
    feedback = next(e for e in story() if e.type_name == "workorder.feedback_given")
    env = envelope(feedback.model_copy(update={"message": "<b>done</b> & dusted"}), 13)
    facts = fold(WorkOrderFacts(), "workorder.reported", story()[0].model_dump(mode="json"))
    result = renderer.render(
        TENANT, "feedback_given", "en", SHANGHAI, message_context(env, facts, CONFIG, "Z")
    )
    assert "<b>done</b> & dusted" in result.text
    assert "&lt;b&gt;done&lt;/b&gt; &amp; dusted" in result.html


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_digest_lists_every_item(language: str) -> None:
    items = [{"subject": f"alert {n}", "text": "x"} for n in range(12)]
    result = TemplateRenderer().render(
        TENANT,
        "digest",
        language,
        SHANGHAI,
        {
            "recipient_name": "Chen",
            "items": items,
            "window_start": datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
            "window_end": datetime(2026, 11, 23, 2, 5, tzinfo=UTC),
        },
    )
    assert "12" in result.subject and "2026-11-23 10:00" in result.subject
    assert all(f"alert {n}\n" in result.text + "\n" for n in range(12))


def test_a_tenant_override_wins_and_other_tenants_keep_the_default(tmp_path: Path) -> None:
    override = tmp_path / TENANT / "en"
    override.mkdir(parents=True)
    (override / "completed.j2").write_text(
        "{% block subject %}Sunny Garden: done{% endblock %}"
        "{% block text %}{{ event.summary }} for {{ recipient_name }}{% endblock %}",
        encoding="utf-8",
    )
    renderer = TemplateRenderer(tmp_path)
    env = envelope(story()[10], 11)
    facts = fold(WorkOrderFacts(), "workorder.reported", story()[0].model_dump(mode="json"))
    ours = renderer.render(
        TENANT, "completed", "en", SHANGHAI, message_context(env, facts, CONFIG, "Z")
    )
    theirs = renderer.render(
        "other", "completed", "en", SHANGHAI, message_context(env, facts, CONFIG, "Z")
    )
    assert (ours.subject, ours.text) == ("Sunny Garden: done", "换了三通阀 for Z")
    assert theirs.subject == "Done: please tell us how it went"


def test_an_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound):
        TemplateRenderer().render(TENANT, "nope", "en", SHANGHAI, {})


def test_optional_fields_a_producer_left_out_render_as_absent() -> None:
    data = story()[9].model_dump(mode="json")
    del data["note"]  # an appointment_missed from a producer that omits empty fields
    env = envelope(story()[9], 10).model_copy(update={"data": data})
    facts = fold(WorkOrderFacts(), "workorder.reported", story()[0].model_dump(mode="json"))
    result = TemplateRenderer().render(
        TENANT, "appointment_missed", "en", SHANGHAI, message_context(env, facts, CONFIG, "Z")
    )
    assert "book a new visit" in result.text and "Note:" not in result.text
