// The reporting dashboard: KPI cards against target with a daily trend, breaches and
// at-risk orders, live from GET /v1/kpis/stream. No libraries, nothing from a CDN.
//
// The bearer token comes from the URL fragment (#token=...) once and is then kept in
// sessionStorage; the fragment never reaches a server log.
"use strict";

const HEADLINE = ["repair_timeliness", "complaints_handled", "complaint_rate",
  "follow_up_rate", "satisfaction", "repair_quality"];

const TEXT = {
  en: {
    title: "Work-order KPIs", scope: "Scope", group: "Whole group", from: "From", to: "To",
    headline: "KPIs against target", operations: "Operations",
    at_risk: "Breached and at-risk orders", order: "Order", project: "Project",
    clock: "Clock", due: "Due", state: "State", breached: "breached", warned: "at risk",
    target: "target", of: "of", live: "live", offline: "reconnecting…", updated: "updated",
    no_token: "Open this page with #token=<JWT> (wo token --role hq_quality ...).",
    none: "none", median: "median", switch: "中文",
    notifications: "Notifications", channel: "Channel", delivery_rate: "Delivered",
    sent: "Sent", failed: "Failed attempts", deferred: "Deferred", dead: "Given up",
    unreached: "Reached nobody", all: "All channels",
  },
  "zh-CN": {
    title: "工单 KPI 看板", scope: "范围", group: "集团全部项目", from: "开始", to: "结束",
    headline: "分项指标与目标", operations: "运营指标",
    at_risk: "已超时与即将超时的工单", order: "工单", project: "项目",
    clock: "时限", due: "到期", state: "状态", breached: "已超时", warned: "预警",
    target: "目标", of: "/", live: "实时", offline: "重新连接中…", updated: "更新于",
    no_token: "请用 #token=<JWT> 打开本页 (wo token --role hq_quality ...)。",
    none: "无", median: "中位数", switch: "English",
    notifications: "通知送达", channel: "渠道", delivery_rate: "送达率",
    sent: "已发送", failed: "失败重试", deferred: "延后", dead: "放弃", unreached: "无人可达",
    all: "全部渠道",
  },
};

const params = new URLSearchParams(location.search);
const state = {
  token: tokenFromFragment(),
  lang: params.get("lang") || (navigator.language.startsWith("zh") ? "zh-CN" : "en"),
  project: params.get("project") || "",
  from: params.get("from") || "",
  to: params.get("to") || "",
  kpis: [],
  live: false,
  refreshing: null,
  again: false,
};

function tokenFromFragment() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("reporting-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("reporting-token");
}

function t(key) { return (TEXT[state.lang] || TEXT.en)[key] || key; }

function query(extra) {
  const q = new URLSearchParams(extra || {});
  if (state.project) q.set("project", state.project);
  if (state.from) q.set("from", state.from);
  if (state.to) q.set("to", state.to);
  return q.toString();
}

async function api(path, extra) {
  const response = await fetch(`${path}?${query(extra)}`, {
    headers: { Authorization: `Bearer ${state.token}` },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code}: ${body.detail}`);
  return body;
}

function format(kpi, value) {
  if (value === null || value === undefined) return "–";
  if (kpi.unit === "ratio") return `${(value * 100).toFixed(2)}%`;
  if (kpi.unit === "seconds") {
    return value < 3600 ? `${(value / 60).toFixed(1)} min` : `${(value / 3600).toFixed(1)} h`;
  }
  return String(Math.round(value));
}

function title(kpi) { return state.lang === "zh-CN" ? kpi.title_zh : kpi.title_en; }

function sparkline(points) {
  const values = points.map((p) => p.value).filter((v) => v !== null);
  if (values.length < 2) return "";
  const high = Math.max(...values), low = Math.min(...values), span = high - low || 1;
  const step = 180 / (values.length - 1);
  const path = values.map((v, i) => `${i ? "L" : "M"}${(i * step).toFixed(1)},${(28 - ((v - low) / span) * 24).toFixed(1)}`);
  return `<svg width="180" height="30" aria-label="trend"><path d="${path.join(" ")}" fill="none" stroke="#4a6fd1" stroke-width="2"/></svg>`;
}

function card(kpi, trend) {
  const met = kpi.meets_target;
  const cls = met === true ? "ok" : met === false ? "miss" : "";
  const target = kpi.target === null ? "" :
    `${t("target")} ${kpi.direction === "at_most" ? "≤" : "≥"} ${format(kpi, kpi.target)}`;
  let detail;
  if (kpi.unit === "ratio") detail = `${kpi.numerator} ${t("of")} ${kpi.denominator}`;
  else if (kpi.unit === "seconds") detail = `${t("median")} · p90 ${format(kpi, kpi.p90)} · p99 ${format(kpi, kpi.p99)}`;
  else detail = Object.entries(kpi.breakdown).map(([k, v]) => `${k}: ${v}`).join(" · ") || t("none");
  return `<div class="card ${cls}" data-kpi="${kpi.kpi}">
    <h3>${title(kpi)}</h3>
    <div class="value" data-testid="value-${kpi.kpi}">${format(kpi, kpi.value)}</div>
    <div class="detail">${target}</div><div class="detail">${detail}</div>${trend || ""}</div>`;
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function notificationRows(figures) {
  // The whole scope first, then each channel: delivered = sent / (sent + given up + reached nobody).
  if (!figures) return "";
  const row = (name, f) => `<tr><td>${escape(name)}</td>
    <td>${f.delivery_rate === null ? "–" : `${(f.delivery_rate * 100).toFixed(1)}%`}</td>
    <td>${f.sent}</td><td>${f.failed}</td><td>${f.deferred}</td><td>${f.dead}</td>
    <td>${f.unreached}</td></tr>`;
  return [row(t("all"), figures), ...Object.entries(figures.by_channel).map(([k, f]) => row(k, f))].join("");
}

async function refresh() {
  // One refresh at a time; a burst of updates collapses into one more round.
  if (state.refreshing) { state.again = true; return state.refreshing; }
  state.refreshing = (async () => {
    do {
      state.again = false;
      const body = await api("/v1/kpis");
      state.kpis = body.kpis;
      const trends = await Promise.all(HEADLINE.map((name) =>
        api(`/v1/kpis/${name}/series`, { granularity: "day" }).then((s) => sparkline(s.points))));
      const byName = Object.fromEntries(body.kpis.map((k) => [k.kpi, k]));
      document.getElementById("headline").innerHTML =
        HEADLINE.map((name, i) => card(byName[name], trends[i])).join("");
      document.getElementById("operations").innerHTML =
        body.kpis.filter((k) => !HEADLINE.includes(k.kpi)).map((k) => card(k)).join("");
      const projects = document.getElementById("project");
      for (const name of body.projects) {
        if (![...projects.options].some((o) => o.value === name)) projects.add(new Option(name, name));
      }
      projects.value = state.project;
      document.querySelector("#notifications tbody").innerHTML = notificationRows(body.notifications);
      const risk = await api("/v1/kpis/at-risk");
      document.querySelector("#at-risk tbody").innerHTML = risk.orders.map((o) => `<tr>
        <td title="${escape(o.order_id)}">${escape(o.number || o.order_id.slice(0, 8))}</td>
        <td>${escape(o.project)}</td><td>${escape(o.clock)}</td>
        <td>${new Date(o.due_at).toLocaleString(state.lang)}</td>
        <td class="${o.breached ? "breached" : ""}">${t(o.breached ? "breached" : "warned")}</td></tr>`).join("");
      status(`${state.live ? t("live") : t("offline")} · ${t("updated")} ${new Date().toLocaleTimeString(state.lang)}`);
    } while (state.again);
  })().catch((error) => status(error.message)).finally(() => { state.refreshing = null; });
  return state.refreshing;
}

function status(text) { document.getElementById("status").textContent = text; }

async function listen() {
  // fetch() rather than EventSource: EventSource cannot send the Authorization header.
  for (;;) {
    try {
      const q = state.project ? `?project=${encodeURIComponent(state.project)}` : "";
      const response = await fetch(`/v1/kpis/stream${q}`, {
        headers: { Authorization: `Bearer ${state.token}` },
      });
      if (!response.ok) throw new Error(`stream: ${response.status}`);
      state.live = true;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          // A KPI of a visible project changed: the group figures may have too.
          if (message.startsWith("event: kpi")) refresh();
        }
      }
    } catch (error) {
      status(`${t("offline")} ${error.message}`);
    }
    state.live = false;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function translate() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  document.getElementById("lang").textContent = t("switch");
  if (state.kpis.length) refresh();
}

function start() {
  window.dashboardLoadedAt = Date.now();
  translate();
  if (!state.token) { status(t("no_token")); return; }
  const project = document.getElementById("project");
  const from = document.getElementById("from");
  const to = document.getElementById("to");
  from.value = state.from;
  to.value = state.to;
  project.addEventListener("change", () => { state.project = project.value; refresh(); });
  from.addEventListener("change", () => { state.from = from.value; refresh(); });
  to.addEventListener("change", () => { state.to = to.value; refresh(); });
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh-CN" ? "en" : "zh-CN";
    translate();
  });
  refresh();
  listen();
}

start();
