// Finance: usage so far, pending resolutions, invoices with drill-down to tickets, exports, the spend cap.
import { api, clear, dateTime, download, el, money, requireToken, showError } from "./api.js";

const $ = (id) => document.getElementById(id);
const notice = $("page-notice");
const TICKETS_PAGE = 500;

function rate(centsText, currency) {
  return new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(
    Number(centsText) / 100,
  );
}

function month(isoDate) {
  const [year, monthIndex] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, monthIndex - 1, 1)).toLocaleString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
}

function lastDay(periodEnd) {
  const end = new Date(`${periodEnd}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() - 1);
  return end.toISOString().slice(0, 10);
}

function stat(value, text) {
  return el("div", { class: "stat" }, el("span", { class: "value", text: value }), el("span", { class: "label", text }));
}

function table(node, head, rows, empty) {
  const caption = node.querySelector("caption");
  const body = rows.length ? rows : [el("tr", {}, el("td", { colspan: head.length, text: empty }))];
  clear(
    node,
    caption,
    el("thead", {}, el("tr", {}, head.map(([name, numeric]) => el("th", { scope: "col", class: numeric ? "num" : null, text: name })))),
    el("tbody", {}, body),
  );
}

function lineRow(line) {
  return el(
    "tr",
    {},
    el("th", { scope: "row", text: line.description }),
    el("td", { class: "num", text: line.quantity }),
    el("td", { class: "num", text: rate(line.unit_price_cents, line.currency) }),
    el("td", { class: "num", text: money(line.amount_cents, line.currency) }),
    el("td", { text: line.waived_reason ? `waived: ${line.waived_reason.replaceAll("_", " ")}` : "" }),
  );
}

const LINE_HEAD = [["Line"], ["Quantity", true], ["Unit price", true], ["Amount", true], ["Note"]];

function renderSpend(spend) {
  const banner = $("spend-banner");
  clear(banner);
  banner.className = "notice";
  if (spend.cap_cents === null) return;
  const share = spend.cap_cents ? Math.round((spend.spent_cents / spend.cap_cents) * 100) : 100;
  if (spend.state === "reached") {
    banner.className = "notice error";
    banner.append(
      el("strong", { text: "Spend cap reached. " }),
      `Nothing more is billed this month; the AI is ${spend.mode === "off" ? "off" : "limited to drafts"} until the next period or a higher cap.`,
    );
  } else if (spend.state === "warn") {
    banner.className = "notice warn";
    banner.append(el("strong", { text: `${share}% of the spend cap used. ` }), `At 100% the AI ${spend.mode === "off" ? "switches off" : "stops auto-resolving"}.`);
  }
}

async function loadUsage() {
  const usage = await api("/api/v1/billing/usage");
  const { spend, pending } = usage;
  const summary = [
    stat(money(usage.total_cents, usage.currency), `billed so far in ${month(usage.period_start)}`),
    stat(String(pending.count), `pending resolutions (${money(pending.potential_cents, usage.currency)} if all stick, not included)`),
  ];
  if (spend.cap_cents !== null) {
    const share = spend.cap_cents ? Math.min(100, Math.round((spend.spent_cents / spend.cap_cents) * 100)) : 100;
    summary.push(
      el(
        "div",
        { class: "stat" },
        el("span", { class: "value", text: `${money(spend.spent_cents, spend.currency)} of ${money(spend.cap_cents, spend.currency)}` }),
        el("progress", { max: 100, value: share, "aria-label": `${share}% of the spend cap used` }),
        el("span", { class: "label", text: `spend cap (${share}%)` }),
      ),
    );
  } else {
    summary.push(stat("No cap", "spend cap"));
  }
  clear($("usage-summary"), summary);
  renderSpend(spend);
  table($("usage-lines"), LINE_HEAD, usage.lines.map(lineRow), "Nothing billed yet this period.");
  const totalRow = el("tr", {}, el("th", { scope: "row", text: "Total so far" }), el("td"), el("td"), el("td", { class: "num" }, el("strong", { text: money(usage.total_cents, usage.currency) })), el("td"));
  if (usage.lines.length) $("usage-lines").querySelector("tbody").append(totalRow);

  $("pending-summary").textContent = pending.count
    ? `${pending.count} auto-resolution${pending.count === 1 ? "" : "s"} waiting for the confirmation window: billed only if the customer does not reply or reopen.`
    : "No resolutions are waiting.";
  table(
    $("pending-table"),
    [["Ticket"], ["Resolved"], ["Billable from"]],
    pending.resolutions.map((item) =>
      el("tr", {}, el("td", {}, ticketLink(item.ticket_id)), el("td", { text: dateTime(item.resolved_at) }), el("td", { text: dateTime(item.window_ends_at) })),
    ),
    "None.",
  );
  if (pending.count > pending.resolutions.length) {
    $("pending-summary").append(` Showing the first ${pending.resolutions.length}.`);
  }
  $("cap-amount").value = spend.cap_cents === null ? "" : (spend.cap_cents / 100).toFixed(2);
  $("cap-mode").value = spend.mode;
}

function ticketLink(ticketId) {
  return /^\d+$/.test(ticketId) ? el("a", { href: `/helpdesk/tickets/${ticketId}`, text: `#${ticketId}` }) : ticketId;
}

async function loadInvoices() {
  const invoices = await api("/api/v1/billing/invoices");
  table(
    $("invoices-table"),
    [["Invoice"], ["Period"], ["Status"], ["Payment"], ["Credits", true], ["Total", true]],
    invoices.map((invoice) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, el("a", { href: `?invoice=${invoice.id}`, "data-invoice": invoice.id, text: invoice.number || `#${invoice.id}` })),
        el("td", { text: `${invoice.period_start} to ${lastDay(invoice.period_end)}` }),
        el("td", { text: invoice.status }),
        el("td", { text: invoice.payment_status || "—" }),
        el("td", { class: "num", text: invoice.credit_cents ? money(-invoice.credit_cents, invoice.currency) : "—" }),
        el("td", { class: "num", text: money(invoice.total_cents, invoice.currency) }),
      ),
    ),
    "No finalized invoices yet: the first one is issued after the current month closes.",
  );
  $("invoices-table").querySelectorAll("a[data-invoice]").forEach((link) =>
    link.addEventListener("click", (event) => {
      event.preventDefault();
      history.pushState(null, "", `?invoice=${link.dataset.invoice}`);
      showInvoice(link.dataset.invoice);
    }),
  );
}

function ticketsTable(tickets, currency) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Ticket" }), el("th", { scope: "col", class: "num", text: "Quantity" }), el("th", { scope: "col", class: "num", text: "Amount" }), el("th", { scope: "col", text: "First" }), el("th", { scope: "col", text: "Last" }))),
    el("tbody", {}, tickets.map((charge) => ticketRow(charge, currency))),
  );
}

function ticketRow(charge, currency) {
  return el(
    "tr",
    {},
    el("td", {}, ticketLink(charge.ticket_id)),
    el("td", { class: "num", text: charge.quantity }),
    el("td", { class: "num", text: rate(charge.amount_cents, currency) }),
    el("td", { text: dateTime(charge.first_at) }),
    el("td", { text: dateTime(charge.last_at) }),
  );
}

function lineDetails(invoice, line) {
  const tickets = line.tickets || [];
  const body = ticketsTable(tickets, line.currency);
  const more = el("button", { type: "button", text: "Load more tickets", hidden: tickets.length < 100 });
  let offset = tickets.length;
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await api(`/api/v1/billing/invoices/${invoice.id}/lines/${line.id}/tickets?offset=${offset}&limit=${TICKETS_PAGE}`);
      body.querySelector("tbody").append(...page.map((charge) => ticketRow(charge, line.currency)));
      offset += page.length;
      more.hidden = page.length < TICKETS_PAGE;
    } catch (error) {
      showError(notice, error);
    } finally {
      more.disabled = false;
    }
  });
  return el(
    "details",
    { class: "panel soft", "data-line": line.id },
    el("summary", {}, `${line.description}: ${line.quantity} × ${rate(line.unit_price_cents, line.currency)} = `, el("strong", { text: money(line.amount_cents, line.currency) })),
    el("div", { class: "table-wrap" }, body),
    more,
  );
}

async function showInvoice(invoiceId) {
  const section = $("invoice-detail");
  try {
    const invoice = await api(`/api/v1/billing/invoices/${encodeURIComponent(invoiceId)}`);
    section.hidden = false;
    $("invoice-heading").textContent = `Invoice ${invoice.number || invoice.id}`;
    $("invoice-meta").textContent =
      `${invoice.period_start} to ${lastDay(invoice.period_end)} · ${invoice.status}` +
      `${invoice.finalized_at ? ` on ${dateTime(invoice.finalized_at)}` : ""} · ${invoice.entry_count} ledger entries · ` +
      `total ${money(invoice.total_cents, invoice.currency)}${invoice.payment_status ? ` · payment ${invoice.payment_status}` : ""}`;
    const base = `/api/v1/billing/invoices/${invoice.id}/export`;
    const name = invoice.number || `invoice-${invoice.id}`;
    clear(
      $("invoice-downloads"),
      downloadButton("CSV", `${base}/csv`, `${name}.csv`),
      downloadButton("CSV with tickets", `${base}/csv?tickets=true`, `${name}-tickets.csv`),
      downloadButton("HTML", `${base}/html?tickets=true`, `${name}.html`),
      downloadButton("PDF", `${base}/pdf`, `${name}.pdf`),
    );
    clear($("invoice-lines"), invoice.lines.map((line) => lineDetails(invoice, line)));
    section.focus();
  } catch (error) {
    showError(notice, error);
  }
}

function downloadButton(text, path, name) {
  return el("button", { type: "button", "data-download": path, "data-name": name, text });
}

async function saveCap(event) {
  event.preventDefault();
  const raw = $("cap-amount").value.trim();
  const capCents = raw === "" ? null : Math.round(Number(raw) * 100);
  if (capCents !== null && (!Number.isFinite(capCents) || capCents < 0)) {
    $("cap-status").textContent = "Enter an amount in USD, or leave it empty for no cap.";
    return;
  }
  try {
    await api("/api/v1/billing/spend-cap", { method: "PUT", body: { cap_cents: capCents, mode: $("cap-mode").value } });
    $("cap-status").textContent = capCents === null ? "Cap removed." : `Cap saved: ${money(capCents)} per month.`;
    await loadUsage();
  } catch (error) {
    showError(notice, error);
  }
}

if (requireToken(notice)) {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-download]");
    if (!button) return;
    download(button.dataset.download, button.dataset.name).catch((error) => showError(notice, error));
  });
  $("cap-form").addEventListener("submit", saveCap);
  window.addEventListener("popstate", () => {
    const invoice = new URLSearchParams(window.location.search).get("invoice");
    if (invoice) showInvoice(invoice);
    else $("invoice-detail").hidden = true;
  });
  Promise.all([loadUsage(), loadInvoices()])
    .then(() => {
      const invoice = new URLSearchParams(window.location.search).get("invoice");
      document.body.dataset.loaded = "true";
      if (invoice) return showInvoice(invoice);
      return null;
    })
    .catch((error) => showError(notice, error));
}
