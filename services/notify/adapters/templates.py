"""Jinja2 templates: zh-CN and en built in, overridable per tenant from a directory.

A template defines the blocks `subject` and `text`, and may define `html`; without it
the HTML body is the subject as a heading and the text's lines as paragraphs. A tenant's
override is a file `<overrides>/<tenant>/<language>/<template>.j2` with those blocks.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from services.notify.service_layer.ports import Rendered
from shared.errors import NotFound

BUILT_IN = Path(__file__).resolve().parent.parent / "templates"

_CLOCK_LABELS = {
    "zh-CN": {
        "arrival": "到场",
        "feedback": "反馈",
        "resolution": "处理",
        "reply": "回复",
        "progress": "进度汇报",
        "follow_up": "回访",
        "cleaning": "保洁",
    },
    "en": {
        "arrival": "arrival",
        "feedback": "feedback",
        "resolution": "resolution",
        "reply": "reply",
        "progress": "progress report",
        "follow_up": "follow-up",
        "cleaning": "cleaning",
    },
}
_KIND_LABELS = {
    "zh-CN": {"repair": "报修", "complaint": "投诉", "suggestion": "建议", "cleaning": "保洁需求"},
    "en": {
        "repair": "repair request",
        "complaint": "complaint",
        "suggestion": "suggestion",
        "cleaning": "cleaning request",
    },
}

# The categories of a property group's usual requests (the trades of dispatch's staff
# directory, and what complaints are commonly about). A category a tenant names in its own
# words is shown as it was entered: those words are already what the resident reads.
_CATEGORY_LABELS = {
    "zh-CN": {
        "plumbing": "水管维修",
        "electrical": "电路维修",
        "elevator": "电梯",
        "doors_and_locks": "门锁",
        "cleaning": "保洁",
        "security": "安保",
        "customer_service": "客户服务",
        "noise": "噪音",
        "parking": "停车",
        "greening": "绿化",
        "pest_control": "消杀",
        "public_facilities": "公共设施",
        "water_leak": "漏水",
        "gas": "燃气",
        "heating": "供暖",
        "property_fee": "物业费",
        "service_attitude": "服务态度",
    },
    "en": {
        "plumbing": "plumbing",
        "electrical": "electrical repair",
        "elevator": "elevator",
        "doors_and_locks": "doors and locks",
        "cleaning": "cleaning",
        "security": "security",
        "customer_service": "customer service",
        "noise": "noise",
        "parking": "parking",
        "greening": "landscaping",
        "pest_control": "pest control",
        "public_facilities": "shared facilities",
        "water_leak": "water leak",
        "gas": "gas",
        "heating": "heating",
        "property_fee": "property fee",
        "service_attitude": "staff conduct",
    },
}


def category_label(category: str, language: str) -> str:
    """The category as the message's reader says it; a tenant's own word as it is."""
    return _CATEGORY_LABELS.get(language, {}).get(category, category)


class TemplateRenderer:
    """Renders `<language>/<template>.j2`, a tenant's override first."""

    def __init__(self, overrides: Path | None = None) -> None:
        self._overrides = overrides

    @lru_cache(maxsize=256)  # noqa: B019 - one renderer per process; tenants are few
    def _environment(self, tenant: str, language: str, time_zone: str) -> Environment:
        paths = [BUILT_IN]
        if self._overrides is not None:
            paths.insert(0, self._overrides / tenant)
        env = Environment(
            loader=FileSystemLoader([str(p) for p in paths]),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=False,
        )
        zone = ZoneInfo(time_zone)
        env.filters["local"] = lambda value: _local(value, zone)
        env.filters["clock_label"] = lambda value: _CLOCK_LABELS[language].get(value, value)
        return env

    def render(
        self,
        tenant: str,
        template: str,
        language: str,
        time_zone: str,
        context: dict[str, Any],
    ) -> Rendered:
        """Render one template; raises `NotFound` for a template that exists nowhere."""
        env = self._environment(tenant, language, time_zone)
        try:
            compiled = env.get_template(f"{language}/{template}.j2")
        except TemplateNotFound:
            raise NotFound(
                f"no template {template!r} in {language}", code="template_not_found"
            ) from None
        values = dict(context)
        wo = dict(values.get("wo") or {})
        wo["kind_label"] = _KIND_LABELS[language].get(wo.get("kind", ""), wo.get("kind", ""))
        wo["category_label"] = category_label(wo.get("category", ""), language)
        values["wo"] = wo
        ctx = compiled.new_context(values)

        def block(name: str) -> str:
            return "".join(compiled.blocks[name](ctx)).strip()

        # Autoescaping is for the HTML body; subject and text are plain text.
        subject, text = block("subject"), block("text")
        body = block("html") if "html" in compiled.blocks else _html(subject, text)
        return Rendered(subject=html.unescape(subject), text=html.unescape(text), html=body)


def _html(subject: str, text: str) -> str:
    # Both are already escaped by the autoescaping environment.
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line.strip())
    return f"<!DOCTYPE html><html><body><h3>{subject}</h3>{paragraphs}</body></html>"


def _local(value: Any, zone: ZoneInfo) -> str:
    if value is None or value == "":
        return ""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")
