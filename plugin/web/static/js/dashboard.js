// The manager dashboard: one report request (with segments and trends), drawn with the vendored Chart.js.
import { api, clear, dateTime, download, duration, el, money, percent, requireToken, showError } from "./api.js";

const $ = (id) => document.getElementById(id);
const Chart = window.Chart;
const notice = $("page-notice");

const COLORS = { assisted: "#0b5cad", control: "#7b8794", better: "#1a7f37", worse: "#b42318", flat: "#9aa5b1" };

// label, kind (time | rate | money | count), which direction is better
const METRICS = {
  frt_median_s: ["First reply time, median", "time", "lower"],
  frt_p90_s: ["First reply time, p90", "time", "lower"],
  frt_human_median_s: ["Human first reply time, median", "time", "lower"],
  answered_within_1h_rate: ["Answered within 1 h", "rate", "higher"],
  answered_within_24h_rate: ["Answered within 24 h", "rate", "higher"],
  fcr_rate: ["First contact resolution", "rate", "higher"],
  one_touch_rate: ["One-touch resolution", "rate", "higher"],
  resolution_median_s: ["Resolution time, median", "time", "lower"],
  aht_mean_s: ["Handle time per ticket, mean", "time", "lower"],
  replies_per_ticket: ["Replies per ticket", "count", "lower"],
  reopen_rate: ["Reopen rate", "rate", "lower"],
  escalation_rate: ["Escalation rate", "rate", "lower"],
  csat: ["CSAT (good / rated)", "rate", "higher"],
  cost_per_conversation_cents: ["Cost per conversation", "money", "lower"],
};
const TREND_METRICS = ["tickets", "frt_median_s", "fcr_rate", "csat", "reopen_rate", "aht_mean_s", "resolution_median_s", "cost_per_conversation_cents"];

const charts = {};
let report = null;

function label(metric) {
  return metric === "tickets" ? "Tickets" : (METRICS[metric] || [metric])[0];
}

function format(metric, value, { signed = false } = {}) {
  if (value === null || value === undefined) return "n/a";
  const kind = metric === "tickets" ? "count" : (METRICS[metric] || [null, "count"])[1];
  const sign = signed && value > 0 ? "+" : "";
  if (kind === "time") return sign + duration(value);
  if (kind === "rate") return signed ? `${sign}${(value * 100).toFixed(1)} pts` : percent(value);
  if (kind === "money") return sign + money(Math.round(value));
  return sign + (Number.isInteger(value) ? String(value) : value.toFixed(2));
}

function verdict(metric, comparison) {
  if (!comparison || comparison.error || comparison.ci_low === null) return "flat";
  const lowerBetter = (METRICS[metric] || [])[2] === "lower";
  if (comparison.ci_high < 0) return lowerBetter ? "better" : "worse";
  if (comparison.ci_low > 0) return lowerBetter ? "worse" : "better";
  return "flat";
}

const VERDICT_TEXT = { better: "Better", worse: "Worse", flat: "No clear change" };

function pValue(value) {
  if (value === null || value === undefined) return "n/a";
  return value < 0.001 ? "< 0.001" : value.toFixed(3);
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...config.options };
  charts[id] = new Chart($(id), config);
}

function params() {
  const query = new URLSearchParams();
  const since = $("since").value;
  const until = $("until").value;
  if (since) query.set("since", `${since}T00:00:00Z`);
  if (until) query.set("until", `${until}T00:00:00Z`);
  const cost = $("cost").value;
  if (cost) query.set("cost_per_agent_hour", cost);
  if ($("business-hours").checked) query.set("business_hours", "true");
  return query;
}

function stat(value, text) {
  return el("div", { class: "stat" }, el("span", { class: "value", text: value }), el("span", { class: "label", text }));
}

function renderSummary(data, experiment) {
  const arms = data.arms;
  const frt = data.comparisons.frt_median_s;
  const cost = data.comparisons.cost_per_conversation_cents;
  const nodes = [
    stat(String(data.tickets), `tickets${data.unassigned_tickets ? ` (${data.unassigned_tickets} unassigned)` : ""}`),
    stat(String(arms.assisted.tickets), "assisted"),
    stat(String(arms.control.tickets), "control"),
    stat(format("frt_median_s", arms.assisted.frt_median_s), `median FRT assisted (control ${format("frt_median_s", arms.control.frt_median_s)})`),
    stat(percent(arms.assisted.fcr_rate), `FCR assisted (control ${percent(arms.control.fcr_rate)})`),
    stat(format("cost_per_conversation_cents", arms.assisted.cost_per_conversation_cents), `cost per conversation assisted (control ${format("cost_per_conversation_cents", arms.control.cost_per_conversation_cents)})`),
  ];
  if (frt && frt.relative_lift !== null) nodes.push(stat(percent(frt.relative_lift), "FRT change"));
  if (cost && cost.relative_lift !== null) nodes.push(stat(percent(cost.relative_lift), "cost change"));
  clear($("summary"), nodes);
  if (experiment) {
    $("summary").append(
      el(
        "p",
        { class: "hint" },
        `Experiment v${experiment.version}: unit ${experiment.unit}, ${Math.round(experiment.assisted_share * 100)}% assisted, ` +
          `running since ${dateTime(experiment.started_at)}. Times in ${data.definitions.clock} time; ` +
          `FCR counts a repeat contact within ${Math.round(data.definitions.repeat_contact_window_s / 86400)} days.`,
      ),
    );
  }
}

function renderSrm(srm) {
  const banner = $("srm-banner");
  clear(banner);
  banner.className = "notice";
  if (srm.flagged) {
    const observed = srm.observed_units || {};
    banner.className = "notice error";
    banner.append(
      el("strong", { text: "Sample ratio mismatch. " }),
      `Observed ${observed.assisted} assisted and ${observed.control} control units, expected ` +
        `${Math.round(srm.expected_assisted_share * 100)}% assisted (chi-square p = ${pValue(srm.p_value)}). ` +
        "The split is not what the experiment asked for, so these comparisons may be biased: check the assignment before trusting them.",
    );
  } else if (srm.error) {
    banner.className = "notice info";
    banner.append(`Sample-ratio check not available yet (${srm.error.replaceAll("_", " ")}).`);
  }
}

function renderForest(comparisons) {
  const rows = Object.keys(METRICS).filter(
    (metric) => comparisons[metric] && comparisons[metric].relative_lift !== null && comparisons[metric].relative_ci_low !== null,
  );
  const verdicts = rows.map((metric) => verdict(metric, comparisons[metric]));
  const highs = rows.map((metric) => comparisons[metric].relative_ci_high * 100);
  const lows = rows.map((metric) => comparisons[metric].relative_ci_low * 100);
  draw("forest-chart", {
    type: "bar",
    data: {
      labels: rows.map(label),
      datasets: [
        {
          label: "95% CI of the relative change",
          data: rows.map((_, index) => [lows[index], highs[index]]),
          backgroundColor: verdicts.map((name) => COLORS[name]),
          barPercentage: 0.35,
          categoryPercentage: 1,
          order: 2,
        },
        {
          type: "line",
          indexAxis: "y",
          label: "Relative change",
          data: rows.map((metric) => ({ x: comparisons[metric].relative_lift * 100, y: label(metric) })),
          showLine: false,
          pointRadius: 6,
          pointStyle: "rectRot",
          backgroundColor: "#ffffff",
          borderColor: "#1f2933",
          borderWidth: 2,
          order: 1,
        },
      ],
    },
    options: {
      indexAxis: "y",
      scales: {
        x: {
          // Very wide intervals (rare events) are cut at the edge rather than squashing every other row.
          min: Math.min(...lows) < -100 ? -100 : undefined,
          max: Math.max(...highs) > 200 ? 200 : undefined,
          suggestedMin: -10,
          suggestedMax: 10,
          title: { display: true, text: "change vs control (%)" },
          grid: { color: (ctx) => (ctx.tick.value === 0 ? "#1f2933" : "#e4e7eb"), lineWidth: (ctx) => (ctx.tick.value === 0 ? 2 : 1) },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const metric = rows[ctx.dataIndex];
              const c = comparisons[metric];
              return `${percent(c.relative_lift)} (95% CI ${percent(c.relative_ci_low)} to ${percent(c.relative_ci_high)}), p ${pValue(c.p_value)}`;
            },
          },
        },
      },
    },
  });
}

function bucketLabels(edges) {
  const short = (seconds) => (seconds < 3600 ? `${seconds / 60} min` : seconds < 86400 ? `${seconds / 3600} h` : `${seconds / 86400} d`);
  return edges.map((edge, index) => (index + 1 < edges.length ? `${short(edge)}–${short(edges[index + 1])}` : `≥ ${short(edge)}`));
}

function renderFrt(histogram) {
  const labels = [...bucketLabels(histogram.bucket_edges_s), "Unanswered"];
  const series = {};
  for (const arm of ["assisted", "control"]) {
    const data = histogram.arms[arm] || { counts: [], unanswered: 0 };
    const counts = [...data.counts, data.unanswered];
    const total = counts.reduce((sum, value) => sum + value, 0) || 1;
    series[arm] = { counts, shares: counts.map((value) => (value / total) * 100) };
  }
  draw("frt-chart", {
    type: "bar",
    data: {
      labels,
      datasets: ["assisted", "control"].map((arm) => ({ label: arm, data: series[arm].shares, backgroundColor: COLORS[arm] })),
    },
    options: { scales: { y: { title: { display: true, text: "% of the arm's tickets" } } } },
  });
  const table = $("frt-table");
  const caption = table.querySelector("caption");
  clear(
    table,
    caption,
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "First reply" }), el("th", { scope: "col", class: "num", text: "Assisted" }), el("th", { scope: "col", class: "num", text: "Control" }))),
    el(
      "tbody",
      {},
      labels.map((name, index) =>
        el("tr", {}, el("th", { scope: "row", text: name }), el("td", { class: "num", text: series.assisted.counts[index] }), el("td", { class: "num", text: series.control.counts[index] })),
      ),
    ),
  );
}

function renderTrend() {
  if (!report || !report.trends) return;
  const period = document.querySelector("input[name=trend-period]:checked").value;
  const metric = $("trend-metric").value;
  const points = report.trends[period] || [];
  draw("trend-chart", {
    type: "line",
    data: {
      labels: points.map((point) => point.period_start),
      datasets: ["assisted", "control"].map((arm) => ({
        label: arm,
        data: points.map((point) => {
          const value = (point.arms[arm] || {})[metric];
          if (value === null || value === undefined) return null;
          const kind = (METRICS[metric] || [null, "count"])[1];
          return kind === "rate" ? value * 100 : kind === "time" ? value / 60 : kind === "money" ? value / 100 : value;
        }),
        borderColor: COLORS[arm],
        backgroundColor: COLORS[arm],
        borderDash: arm === "control" ? [6, 4] : [],
        pointRadius: 3,
      })),
    },
    options: {
      scales: {
        y: {
          title: {
            display: true,
            text: { time: "minutes", rate: "%", money: "USD", count: label(metric) }[(METRICS[metric] || [null, "count"])[1]],
          },
        },
      },
    },
  });
}

function renderMetricsTable(data) {
  const table = $("metrics-table");
  const caption = table.querySelector("caption");
  const head = ["Metric", "Assisted", "Control", "Difference", "95% CI", "Relative change", "p-value", "Reading"];
  const rows = Object.keys(METRICS)
    .filter((metric) => metric in data.arms.assisted)
    .map((metric) => {
      const c = data.comparisons[metric] || {};
      const reading = verdict(metric, c);
      return el(
        "tr",
        {},
        el("th", { scope: "row", text: label(metric) }),
        el("td", { class: "num", text: format(metric, data.arms.assisted[metric]) }),
        el("td", { class: "num", text: format(metric, data.arms.control[metric]) }),
        el("td", { class: "num", text: format(metric, c.diff, { signed: true }) }),
        el("td", { class: "num", text: c.ci_low === undefined || c.error ? "n/a" : `${format(metric, c.ci_low, { signed: true })} to ${format(metric, c.ci_high, { signed: true })}` }),
        el("td", { class: "num", text: c.relative_lift === null || c.relative_lift === undefined ? "n/a" : percent(c.relative_lift) }),
        el("td", { class: "num", text: pValue(c.p_value) }),
        el("td", { class: reading, text: c.error ? c.error.replaceAll("_", " ") : VERDICT_TEXT[reading] }),
      );
    });
  clear(table, caption, el("thead", {}, el("tr", {}, head.map((name) => el("th", { scope: "col", text: name })))), el("tbody", {}, rows));
}

function renderSegments() {
  if (!report || !report.segments) return;
  const dimension = $("segment-dimension").value;
  const metric = $("segment-metric").value;
  const segments = report.segments[dimension] || [];
  const table = $("segments-table");
  const caption = table.querySelector("caption");
  const dimensionName = { intent: "Intent", channel: "Channel", priority: "Priority" }[dimension];
  const head = [dimensionName, "Tickets", "Assisted", "Control", "Difference", "95% CI", "p (Holm)", "p (BH)"];
  const rows = segments.map((segment) => {
    const c = (segment.comparisons || {})[metric] || {};
    const significant = c.p_value_holm !== undefined && c.p_value_holm < 0.05 && !c.error;
    return el(
      "tr",
      {},
      el("th", { scope: "row", text: segment.value ?? "(none)" }),
      el("td", { class: "num", text: segment.tickets }),
      el("td", { class: "num", text: format(metric, (segment.arms.assisted || {})[metric]) }),
      el("td", { class: "num", text: format(metric, (segment.arms.control || {})[metric]) }),
      el("td", { class: "num", text: format(metric, c.diff, { signed: true }) }),
      el("td", { class: "num", text: c.error || c.ci_low === undefined ? "n/a" : `${format(metric, c.ci_low, { signed: true })} to ${format(metric, c.ci_high, { signed: true })}` }),
      el("td", { class: "num" }, significant ? el("strong", { text: pValue(c.p_value_holm) }) : pValue(c.p_value_holm)),
      el("td", { class: "num", text: pValue(c.p_value_bh) }),
    );
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: head.length, text: "No segments in this window." })));
  clear(table, caption, el("thead", {}, el("tr", {}, head.map((name) => el("th", { scope: "col", text: name })))), el("tbody", {}, rows));
}

async function load() {
  const query = params();
  query.set("segments", "true");
  query.set("trends", "true");
  try {
    const [data, experiment] = await Promise.all([
      api(`/api/v1/metrics/report?${query}`),
      api("/api/v1/metrics/experiment").catch(() => null),
    ]);
    report = data;
    clear(notice);
    notice.className = "notice";
    renderSummary(data, experiment);
    renderSrm(data.srm);
    renderForest(data.comparisons);
    renderFrt(data.frt_histogram);
    renderTrend();
    renderMetricsTable(data);
    renderSegments();
    document.body.dataset.loaded = "true";
  } catch (error) {
    showError(notice, error);
  }
}

function fillSelect(select, metrics) {
  clear(select, metrics.map((metric) => el("option", { value: metric, text: label(metric) })));
}

if (requireToken(notice)) {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1f2933";
  fillSelect($("trend-metric"), TREND_METRICS);
  fillSelect($("segment-metric"), Object.keys(METRICS));
  $("trend-metric").value = "frt_median_s";
  $("segment-metric").value = "frt_median_s";
  $("trend-metric").addEventListener("change", renderTrend);
  document.querySelectorAll("input[name=trend-period]").forEach((input) => input.addEventListener("change", renderTrend));
  $("segment-dimension").addEventListener("change", renderSegments);
  $("segment-metric").addEventListener("change", renderSegments);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("export-csv").addEventListener("click", () => {
    const query = params();
    download(`/api/v1/metrics/report.csv?${query}`, "outcomedesk-metrics.csv").catch((error) => showError(notice, error));
  });
  load();
}
