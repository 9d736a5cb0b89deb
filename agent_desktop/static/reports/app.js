// The reports page: KPIs by interval over a range, and a queue's forecast with its backtest and staffing
// plan, from GET /v1/reports/kpis and GET /v1/reports/forecast with a supervisor token. The CSV
// downloads are fetched with the token and offered as files (a plain link could not carry the token).

import { fill, formatDuration, formatFull, h } from "../common/dom.js";
import { timeChart } from "./chart.js";

const STORE_KEY = "omniroute.reports.token";
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

class ReportsPage {
  constructor() {
    this.token = takeToken();
    this.csvUrls = {};
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("signin-token").value.trim();
      if (!token) {
        $("signin-error").textContent = "The token is required.";
        return;
      }
      this.token = token;
      sessionStorage.setItem(STORE_KEY, token);
      $("signin-token").value = "";
      this.open();
    });
    $("signout").addEventListener("click", () => this.signOut());
    $("kpi-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.loadKpis();
    });
    $("forecast-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.loadForecast();
    });
    const today = new Date();
    $("kpi-from").value = isoDate(addDays(today, -6));
    $("kpi-to").value = isoDate(addDays(today, 1));
  }

  start() {
    if (this.token) this.open();
    else this.showSignin();
  }

  showSignin(error = "") {
    $("reports").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = error;
    $("signin-token").focus();
  }

  signOut(error = "") {
    sessionStorage.removeItem(STORE_KEY);
    this.token = null;
    this.showSignin(error);
  }

  async open() {
    $("signin").hidden = true;
    $("reports").hidden = false;
    try {
      const queues = await this.get("/v1/queues");
      fill(
        $("fc-queue"),
        queues.map((q) => h("option", { value: q.id, text: q.name ? `${q.name} (${q.id})` : q.id })),
      );
    } catch (err) {
      if (err instanceof Unauthorized) return;
      $("fc-error").textContent = err.message;
    }
    await this.loadKpis();
  }

  async get(path, { text = false } = {}) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${this.token}` }, cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      this.signOut(response.status === 401 ? "The token is not valid." : "This is not a supervisor token.");
      throw new Unauthorized();
    }
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        detail = (await response.json()).detail || detail;
      } catch {
        // not a problem+json body: keep the status
      }
      throw new Error(detail);
    }
    return text ? response.text() : response.json();
  }

  /** Fetch a CSV with the token and point the link at it as a file. */
  async offerCsv(linkId, path) {
    const link = $(linkId);
    link.hidden = true;
    const body = await this.get(path, { text: true });
    if (this.csvUrls[linkId]) URL.revokeObjectURL(this.csvUrls[linkId]);
    this.csvUrls[linkId] = URL.createObjectURL(new Blob([body], { type: "text/csv" }));
    link.href = this.csvUrls[linkId];
    link.hidden = false;
  }

  // ------------------------------------------------------------ KPIs

  async loadKpis() {
    const params = new URLSearchParams(new FormData($("kpi-form")));
    $("kpi-error").textContent = "";
    let report;
    try {
      report = await this.get(`/v1/reports/kpis?${params}`);
    } catch (err) {
      if (!(err instanceof Unauthorized)) $("kpi-error").textContent = err.message;
      return;
    }
    const rows = report.rows;
    $("kpi-summary").textContent = `${rows.length} rows, ${report.tz}, ${formatFull(report.from)} to ${formatFull(report.to)}`;
    fill(
      $("kpi-rows"),
      rows.map((r) =>
        h(
          "tr",
          { dataset: { key: r.key } },
          h("td", { text: formatFull(r.interval_start) }),
          h("td", { class: "key", text: r.key }),
          h("td", { text: r.offered }),
          h("td", { text: r.answered }),
          h("td", { text: r.abandoned }),
          h("td", { text: pct(r.service_level) }),
          h("td", { text: seconds(r.asa_seconds) }),
          h("td", { text: seconds(r.aht_seconds) }),
          h("td", { text: pct(r.abandonment_rate) }),
          h("td", { text: pct(r.fcr_rate) }),
          h("td", { text: pct(r.csat) }),
        ),
      ),
    );
    // the chart: contacts offered per interval (all keys together) and the service level
    const byStart = new Map();
    for (const r of rows) {
      const t = Date.parse(r.interval_start);
      const slot = byStart.get(t) || { offered: 0, inSl: 0, stopped: 0 };
      slot.offered += r.offered;
      slot.inSl += r.answered_in_sl;
      slot.stopped += r.answered + r.abandoned;
      byStart.set(t, slot);
    }
    const times = [...byStart.keys()].sort((a, b) => a - b);
    fill(
      $("kpi-chart"),
      times.length
        ? timeChart({
            label: "Contacts offered and service level per interval",
            times,
            left: [{ name: "Offered", cls: "s-offered", bars: true, values: times.map((t) => byStart.get(t).offered) }],
            right: [
              {
                name: "Service level %",
                cls: "s-forecast",
                values: times.map((t) => {
                  const s = byStart.get(t);
                  return s.stopped ? Math.round((100 * s.inSl) / s.stopped) : NaN;
                }),
              },
            ],
            rightFormat: (v) => `${v}%`,
          })
        : h("p", { class: "muted", text: "Nothing arrived in this range." }),
    );
    try {
      await this.offerCsv("kpi-csv", `/v1/reports/kpis?${params}&format=csv`);
    } catch (err) {
      if (!(err instanceof Unauthorized)) $("kpi-error").textContent = err.message;
    }
  }

  // ------------------------------------------------------------ forecast

  async loadForecast() {
    const params = new URLSearchParams(new FormData($("forecast-form")));
    $("fc-error").textContent = "";
    $("fc-csv").hidden = true;
    let f;
    try {
      f = await this.get(`/v1/reports/forecast?${params}`);
    } catch (err) {
      if (!(err instanceof Unauthorized)) $("fc-error").textContent = err.message;
      return;
    }
    const b = f.backtest;
    const fact = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
    fill(
      $("fc-facts"),
      fact("History", `${f.history_weeks} weeks, ${f.history_arrivals} contacts (${f.tz})`),
      fact("Model", f.model),
      fact("Backtest", `WAPE ${pct(b.wape, 1)} against seasonal-naive ${pct(b.seasonal_naive_wape, 1)} on the week from ${formatFull(b.start)}`),
      fact(
        "Staffing",
        `${f.staffing_model === "erlang_a" ? "Erlang A" : "Erlang C"}, AHT ${seconds(f.aht_seconds)}` +
          (f.patience_seconds === null ? "" : `, patience ${seconds(f.patience_seconds)}`) +
          `, ${pct(f.service_level_target)} within ${f.service_level_seconds} s, shrinkage ${pct(f.shrinkage)}`,
      ),
    );
    $("fc-back-title").hidden = false;
    $("fc-ahead-title").hidden = false;
    fill(
      $("fc-backtest-chart"),
      timeChart({
        label: "Held-out week: forecast against actual arrivals",
        times: b.intervals.map((i) => Date.parse(i.interval_start)),
        left: [
          { name: "Actual", cls: "s-actual", values: b.intervals.map((i) => i.actual) },
          { name: "Forecast", cls: "s-forecast", values: b.intervals.map((i) => i.forecast) },
          { name: "Seasonal-naive", cls: "s-naive", values: b.intervals.map((i) => i.seasonal_naive) },
        ],
      }),
    );
    fill(
      $("fc-chart"),
      timeChart({
        label: "Forecast arrivals and agents to schedule",
        times: f.intervals.map((i) => Date.parse(i.interval_start)),
        left: [{ name: "Forecast arrivals", cls: "s-forecast", values: f.intervals.map((i) => i.forecast) }],
        right: [{ name: "Agents to schedule", cls: "s-agents", values: f.intervals.map((i) => i.agents_scheduled ?? NaN) }],
      }),
    );
    fill(
      $("fc-rows"),
      f.intervals.map((i) =>
        h(
          "tr",
          {},
          h("td", { text: formatFull(i.interval_start) }),
          h("td", { text: i.forecast.toFixed(1) }),
          h("td", { text: i.traffic_erlangs === null ? "–" : i.traffic_erlangs.toFixed(2) }),
          h("td", { text: i.agents_needed ?? "–" }),
          h("td", { text: i.agents_scheduled ?? "–" }),
          h("td", { text: pct(i.service_level, 1) }),
        ),
      ),
    );
    $("fc-csv").setAttribute("download", `forecast-${f.queue}.csv`);
    try {
      await this.offerCsv("fc-csv", `/v1/reports/forecast?${params}&format=csv`);
    } catch (err) {
      if (!(err instanceof Unauthorized)) $("fc-error").textContent = err.message;
    }
  }
}

function pct(x, digits = 0) {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`;
}

function seconds(x) {
  return x === null || x === undefined ? "–" : formatDuration(x);
}

function addDays(d, n) {
  const out = new Date(d);
  out.setDate(out.getDate() + n);
  return out;
}

function isoDate(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A token in the address fragment (#token=…) moves to sessionStorage and out of the address. */
function takeToken() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const fromHash = params.get("token");
  if (fromHash) {
    sessionStorage.setItem(STORE_KEY, fromHash);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return fromHash;
  }
  return sessionStorage.getItem(STORE_KEY);
}

const page = new ReportsPage();
page.start();
window.omniroute = page;
