// The agent sidebar: one code path for Zendesk and the demo helpdesk (see hosts.js for the adapters).
import { api, clear, el, postEvents, requireToken, showError } from "./api.js";
import { detectHost, makeAdapter } from "./hosts.js";

const $ = (id) => document.getElementById(id);

const REASONS = {
  autopilot_disabled: "Autopilot is switched off for this account.",
  intent_not_allowlisted: "This kind of request is not on the autopilot list.",
  out_of_scope: "The request is outside what the knowledge base covers.",
  low_confidence: "Confidence is below the auto-resolve threshold.",
  grounding_failed: "Some statements are not backed by the account context.",
  partial_context: "Some account sources did not answer, so the context is incomplete.",
  spend_cap_reached: "The monthly AI spend cap is reached.",
  control_arm: "This ticket is in the control group.",
};
const GUARDRAILS = {
  refund: "refund request",
  cancellation: "cancellation",
  billing_dispute: "billing dispute",
  legal: "legal matter",
  security: "security concern",
  churn_risk: "churn risk",
  angry_sentiment: "upset customer",
  vip: "VIP account",
  prompt_injection: "possible prompt injection in the message",
  partial_context: "incomplete account context",
  other_customer_data: "mentions another customer's data",
};
const KEY_FACTS = [
  ["Plan", ["plan"]],
  ["Account status", ["subscription_status", "delinquent"]],
  ["MRR", ["mrr"]],
  ["Open invoices", ["open_invoices", "amount_due"]],
  ["Failed payments", ["failed_payments", "last_failed_payment_reason"]],
  ["Usage", ["usage_data_used", "usage_data_limit"]],
  ["Latest order", ["order_id", "order_status"]],
];

const state = { adapter: null, ticket: null, draft: null, arm: null, controller: null, context: null, numbers: new Map() };

function reasonText(code) {
  if (code.startsWith("guardrail:")) {
    const name = code.slice("guardrail:".length);
    return `Guardrail: ${GUARDRAILS[name] || name.replaceAll("_", " ")}.`;
  }
  return REASONS[code] || code.replaceAll("_", " ");
}

function notice(kind, ...content) {
  const node = $("notice");
  clear(node, ...content);
  node.className = content.length ? `notice ${kind}` : "notice";
}

function actionStatus(text) {
  $("action-status").textContent = text;
}

function setButtons({ insert = false, regenerate = false, discard = false, rate = false }) {
  $("insert").disabled = !insert;
  $("regenerate").disabled = !regenerate;
  $("discard").disabled = !discard;
  $("rate-form").hidden = !rate;
}

// ----- account context -----

function factAnchor(factId) {
  return `fact-${factId.replace(/[^a-zA-Z0-9_-]/g, "-")}`;
}

function renderAccount(context) {
  const byKey = new Map(context.facts.map((fact) => [fact.key, fact]));
  const key = $("account-key");
  clear(key);
  for (const [label, keys] of KEY_FACTS) {
    const found = keys.map((name) => byKey.get(name)).filter(Boolean);
    if (!found.length && (label === "Latest order" || label === "Account status")) continue;
    key.append(el("dt", { text: label }));
    if (!found.length) {
      key.append(el("dd", { class: "missing", text: "Not available" }));
      continue;
    }
    const value = found.map((fact) => fact.value).join(label === "Usage" ? " of " : " · ");
    key.append(el("dd", { id: factAnchor(found[0].id), title: `from ${found[0].source}`, text: value }));
  }
  const all = $("account-all");
  clear(all);
  for (const fact of context.facts) {
    if (document.getElementById(factAnchor(fact.id))) {
      all.append(el("dt", { text: fact.label }), el("dd", { text: `${fact.value} (${fact.source})` }));
    } else {
      all.append(el("dt", { text: fact.label }), el("dd", { id: factAnchor(fact.id), text: `${fact.value} (${fact.source})` }));
    }
  }
  $("account-more").hidden = !context.facts.length;
  $("account-more").querySelector("summary").textContent = `All facts (${context.facts.length})`;
  const failed = context.sources.filter((source) => !source.ok);
  const status = $("account-status");
  if (!context.facts.length) status.textContent = `No account found for ${context.customer}.`;
  else status.textContent = `${context.customer} · sources: ${context.sources.map((s) => (s.ok ? s.name : `${s.name} (failed)`)).join(", ")}`;
  if (failed.length) status.append(el("strong", { text: " Partial context: some sources did not answer." }));
}

async function loadContext(ticket) {
  if (!ticket.requester.email) {
    $("account-status").textContent = "The requester has no email address, so no account context.";
    return null;
  }
  const query = new URLSearchParams({ requester_email: ticket.requester.email });
  if (ticket.requester.id) query.set("requester_id", ticket.requester.id);
  return api(`/api/v1/context?${query}`);
}

// ----- the draft -----

function sourceNumber(citation) {
  if (citation.startsWith("template:")) return null;
  if (!state.numbers.has(citation)) state.numbers.set(citation, state.numbers.size + 1);
  return state.numbers.get(citation);
}

function appendSentence(text, citations) {
  const node = $("draft-text");
  node.append(el("span", { class: "sentence" }, text));
  for (const citation of citations) {
    const number = sourceNumber(citation);
    if (number === null) continue;
    node.append(
      el(
        "sup",
        {},
        el("a", {
          href: `#source-${number}`,
          "aria-label": `source ${number}`,
          text: `[${number}]`,
          onclick: (event) => {
            event.preventDefault();
            openSource(number);
          },
        }),
      ),
    );
  }
  node.append(" ");
}

function renderText(draft) {
  clear($("draft-text"));
  state.numbers = new Map();
  const sentences = draft.sentences && draft.sentences.length ? draft.sentences : [[draft.text, draft.citations]];
  let previous = null;
  for (const [text, citations] of sentences) {
    // The draft's paragraphs are kept: a sentence that starts a new paragraph in the text gets a break.
    if (previous !== null && draft.text.includes(`${previous}\n\n${text}`)) $("draft-text").append("\n\n");
    appendSentence(text, citations);
    previous = text;
  }
}

function describeSource(citation, draft) {
  if (citation.startsWith("fact:")) {
    const fact = (draft.context || []).find((item) => item.id === citation);
    if (fact) {
      return {
        title: `${fact.label} (${fact.source})`,
        body: [
          el("p", {}, el("strong", { text: `${fact.label}: ` }), fact.value),
          el("p", { class: "hint", text: `Account fact from ${fact.source}.` }),
        ],
        factId: fact.id,
      };
    }
    const [, source, key] = citation.split(":");
    return { title: `${key} (${source})`, body: [el("p", { class: "hint", text: "This fact is no longer in the context." })] };
  }
  if (citation.startsWith("kb:")) {
    const [doc, section] = citation.slice(3).split("#");
    const passage = (draft.passages || []).find((item) => item.id === citation);
    const citing = (draft.sentences || []).filter(([, refs]) => refs.includes(citation)).map(([text]) => text);
    const heading = passage && passage.section && passage.section !== passage.title ? ` › ${passage.section}` : "";
    return {
      title: passage
        ? `${passage.title}${heading}`
        : `Knowledge base: ${doc}${section && section !== "top" ? ` › ${section.replaceAll("-", " ")}` : ""}`,
      body: [
        passage ? el("blockquote", { class: "excerpt", text: passage.excerpt }) : null,
        el("p", { class: "hint" }, "Knowledge base passage ", el("code", { text: citation })),
        citing.length ? el("p", { class: "hint", text: `Used for: “${citing.join(" ")}”` }) : null,
      ],
    };
  }
  return { title: citation, body: [] };
}

function renderSources(draft) {
  const list = $("sources-list");
  clear(list);
  for (const [citation, number] of state.numbers) {
    const info = describeSource(citation, draft);
    const bodyId = `source-body-${number}`;
    const toggle = el("button", {
      type: "button",
      class: "link",
      "aria-expanded": "false",
      "aria-controls": bodyId,
      text: `[${number}] ${info.title}`,
      onclick: () => toggleSource(number),
    });
    const body = el("div", { id: bodyId, class: "source-body", hidden: true }, info.body);
    if (info.factId) {
      body.append(
        el("button", { type: "button", class: "link", text: "Show in account panel", onclick: () => highlightFact(info.factId) }),
      );
    }
    list.append(el("li", { id: `source-${number}`, "data-citation": citation }, toggle, body));
  }
  $("sources").hidden = state.numbers.size === 0;
  renderGuidance(draft);
}

function renderGuidance(draft) {
  const list = $("guidance-list");
  clear(list);
  for (const passage of draft.guidance || []) {
    const heading = passage.section && passage.section !== passage.title ? ` › ${passage.section}` : "";
    list.append(
      el(
        "li",
        { "data-citation": passage.id },
        el(
          "details",
          {},
          el("summary", { text: `${passage.title}${heading}` }),
          el("blockquote", { class: "excerpt", text: passage.excerpt }),
        ),
      ),
    );
  }
  $("guidance").hidden = !(draft.guidance || []).length;
}

function toggleSource(number, open) {
  const item = $(`source-${number}`);
  if (!item) return;
  const button = item.querySelector("button");
  const body = item.querySelector(".source-body");
  const show = open === undefined ? body.hidden : open;
  body.hidden = !show;
  button.setAttribute("aria-expanded", String(show));
}

function openSource(number) {
  toggleSource(number, true);
  document.querySelectorAll(".sources-list li.target").forEach((node) => node.classList.remove("target"));
  const item = $(`source-${number}`);
  if (!item) return;
  item.classList.add("target");
  item.querySelector("button").focus();
}

function highlightFact(factId) {
  document.querySelectorAll(".fact-highlight").forEach((node) => node.classList.remove("fact-highlight"));
  const node = document.getElementById(factAnchor(factId));
  if (!node) return;
  if ($("account-more").contains(node)) $("account-more").open = true;
  node.classList.add("fact-highlight");
  node.setAttribute("tabindex", "-1");
  node.focus();
}

function renderMeta(draft) {
  $("draft-meta").hidden = false;
  const confidence = Math.round(draft.confidence * 100);
  $("confidence").value = confidence;
  $("confidence-text").textContent = `${confidence}%`;
  const action = $("action-text");
  if (draft.action === "auto_resolve") {
    action.textContent = "High confidence and every check passed: autopilot may send this reply and solve the ticket.";
  } else {
    action.textContent = "Review before sending: this reply is not sent automatically.";
  }
  const warnings = $("draft-warnings");
  clear(warnings);
  const reasons = (draft.reasons || []).filter((code) => code !== "grounding_failed" && code !== "partial_context");
  if (reasons.length) {
    warnings.append(
      el(
        "div",
        { class: "notice info" },
        el("strong", { text: "Why not auto-resolved" }),
        el("ul", { class: "reason-list" }, reasons.map((code) => el("li", { text: reasonText(code) }))),
      ),
    );
  }
  if (!draft.grounded || (draft.ungrounded && draft.ungrounded.length)) {
    warnings.append(
      el(
        "div",
        { class: "notice warn", role: "note" },
        el("strong", { text: "Check before sending: " }),
        "these details are not backed by the account context.",
        el("ul", { class: "reason-list" }, (draft.ungrounded || []).map((item) => el("li", { text: item }))),
      ),
    );
  }
  if (draft.context_partial) {
    const failed = (draft.sources || []).filter((source) => !source.ok).map((source) => source.name);
    warnings.append(
      el(
        "div",
        { class: "notice warn", role: "note" },
        el("strong", { text: "Partial context: " }),
        `${failed.join(", ") || "a source"} did not answer in time; the draft may miss account details.`,
      ),
    );
  }
}

function showArm(arm) {
  const badge = $("arm-badge");
  badge.hidden = false;
  badge.textContent = arm === "control" ? "Control group" : arm === "assisted" ? "AI assisted" : arm;
  badge.className = `badge ${arm}`;
}

function showControl() {
  notice(
    "info",
    el("strong", { text: "This ticket is in the control group: no AI draft, by design." }),
    el("p", { text: "Tickets are split at random so we can measure what AI drafts change. Please answer this one yourself." }),
  );
  $("draft-section").hidden = true;
  $("account-status").textContent = "Account context is not shown on control tickets, so the comparison stays fair.";
  clear($("account-key"));
  $("account-more").hidden = true;
}

async function draft({ regenerate = false } = {}) {
  const ticket = state.ticket;
  if (!ticket.latest_message) {
    notice("info", "There is no customer message to answer yet.");
    return;
  }
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  state.draft = null;
  state.numbers = new Map();
  setButtons({});
  clear($("draft-text"));
  clear($("draft-warnings"));
  $("sources").hidden = true;
  $("guidance").hidden = true;
  $("draft-meta").hidden = true;
  $("draft-text").setAttribute("aria-busy", "true");
  actionStatus(regenerate ? "Writing a new draft…" : "Writing a draft…");
  const body = {
    message_id: ticket.latest_message.id,
    text: ticket.latest_message.text,
    requester_id: ticket.requester.id || ticket.requester.email,
    requester_email: ticket.requester.email,
    requester_name: ticket.requester.name || null,
    channel: ticket.channel || null,
    regenerate,
  };
  try {
    const path = `/api/v1/tickets/${encodeURIComponent(ticket.id)}/drafts/stream`;
    for await (const { event, data } of postEvents(path, body, { signal: controller.signal })) {
      if (event === "status") {
        state.arm = data.arm;
        showArm(data.arm);
        if (data.status === "control_arm") showControl();
        else if (state.context) renderAccount(state.context);
      } else if (event === "delta") {
        appendSentence(data.text.trim(), data.sources || []);
      } else if (event === "draft") {
        finish(data);
      }
    }
  } catch (error) {
    if (error.name === "AbortError") return;
    showError($("notice"), error);
    setButtons({ regenerate: true });
    actionStatus("");
  } finally {
    if (state.controller === controller) $("draft-text").setAttribute("aria-busy", "false");
  }
}

function finish(response) {
  if (response.status === "control_arm") {
    actionStatus("");
    return;
  }
  if (!response.draft) {
    notice("info", el("strong", { text: "No AI draft for this ticket." }), (response.notes || []).map((note) => el("p", { text: note })));
    actionStatus("");
    setButtons({ regenerate: true });
    return;
  }
  state.draft = response.draft;
  renderText(response.draft);
  renderMeta(response.draft);
  renderSources(response.draft);
  setButtons({ insert: true, regenerate: true, discard: true, rate: true });
  actionStatus(response.status === "existing" ? "Showing the draft already written for this message." : "Draft ready.");
}

async function feedback(kind, extra = {}) {
  return api(`/api/v1/drafts/${state.draft.id}/feedback`, { method: "POST", body: { kind, ...extra } });
}

async function onInsert() {
  const current = state.draft;
  if (!current) return;
  $("insert").disabled = true;
  try {
    await state.adapter.insert(current.text, current);
    await feedback("inserted");
    actionStatus(`Inserted into the reply (${state.adapter.name}). Edit it as needed before sending.`);
  } catch (error) {
    showError($("notice"), error);
  } finally {
    $("insert").disabled = false;
  }
}

async function onDiscard() {
  if (!state.draft) return;
  try {
    await feedback("discarded");
    clear($("draft-text"));
    clear($("draft-warnings"));
    $("sources").hidden = true;
    $("guidance").hidden = true;
    $("draft-meta").hidden = true;
    state.draft = null;
    setButtons({ regenerate: true });
    actionStatus("Draft discarded. Regenerate for a new one.");
    $("regenerate").focus();
  } catch (error) {
    showError($("notice"), error);
  }
}

async function onRate(event) {
  event.preventDefault();
  const chosen = new FormData(event.target).get("rating");
  if (!chosen || !state.draft) return;
  try {
    await feedback("rated", { rating: Number(chosen) });
    actionStatus(`Thanks: rated ${chosen} out of 5.`);
  } catch (error) {
    showError($("notice"), error);
  }
}

async function start() {
  if (!requireToken($("notice"))) return;
  const body = document.body;
  const host = detectHost(body.dataset.host);
  const ticketId = body.dataset.ticket || new URLSearchParams(window.location.search).get("ticket");
  try {
    state.adapter = makeAdapter(host, ticketId);
  } catch (error) {
    showError($("notice"), error);
    return;
  }
  $("insert").addEventListener("click", onInsert);
  $("regenerate").addEventListener("click", () => draft({ regenerate: true }));
  $("discard").addEventListener("click", onDiscard);
  $("rate-form").addEventListener("submit", onRate);
  state.adapter.onTicket(async () => {
    const previous = state.ticket && state.ticket.latest_message && state.ticket.latest_message.id;
    state.ticket = await state.adapter.ticket();
    const latest = state.ticket.latest_message && state.ticket.latest_message.id;
    if (latest && latest !== previous) await draft();
  });
  try {
    state.ticket = await state.adapter.ticket();
  } catch (error) {
    showError($("notice"), error);
    return;
  }
  loadContext(state.ticket)
    .then((context) => {
      state.context = context;
      if (context && state.arm === "assisted") renderAccount(context);
    })
    .catch((error) => {
      $("account-status").textContent = `Account context unavailable: ${error.message}`;
    });
  await draft();
}

start();
