// A demo helpdesk ticket: its conversation, the agent's reply box, and the sidebar in an iframe that
// speaks the postMessage protocol documented in hosts.js.
import { api, clear, dateTime, el, requireToken, showError, token } from "./api.js";

const $ = (id) => document.getElementById(id);
const notice = $("page-notice");
const ticketId = $("ticket-layout").dataset.ticket;
const origin = window.location.origin;
let frame = null;
let current = null;
let inserted = null; // {draftId, text}: to report an edited draft when the agent sends something else

function sidebarTicket(conversation) {
  const { ticket, comments } = conversation;
  const fromCustomer = comments.filter((comment) => comment.from_customer);
  const latest = fromCustomer[fromCustomer.length - 1];
  return {
    id: ticket.id,
    requester: { id: ticket.requester_id, email: ticket.requester_email, name: ticket.requester_name },
    latest_message: latest ? { id: latest.id, text: latest.body } : null,
    channel: ticket.channel,
  };
}

function sendTicket() {
  if (frame && frame.contentWindow && current) {
    frame.contentWindow.postMessage({ type: "outcomedesk:ticket", ticket: sidebarTicket(current) }, origin);
  }
}

function render(conversation) {
  const { ticket, comments } = conversation;
  $("ticket-heading").textContent = `#${ticket.id} ${ticket.subject}`;
  $("ticket-meta").textContent =
    `${ticket.requester_name || ""} <${ticket.requester_email || ticket.requester_id}> · ${ticket.status} · ` +
    `${ticket.priority || "normal"} priority · via ${ticket.channel || "web"}`;
  const list = $("conversation");
  clear(list);
  for (const comment of comments) {
    const who = comment.from_customer ? ticket.requester_name || "Customer" : comment.author_id;
    const kind = comment.from_customer ? "customer" : comment.public ? "staff" : "note";
    list.append(
      el(
        "li",
        { class: kind, "data-comment": comment.id },
        el("span", { class: "who", text: who }),
        " ",
        el("span", { class: "when", text: `${dateTime(comment.created_at)}${comment.public ? "" : " · internal note"}` }),
        el("div", { class: "body", text: comment.body }),
      ),
    );
  }
}

async function load() {
  current = await api(`/api/v1/helpdesk/tickets/${ticketId}`);
  render(current);
  sendTicket();
}

function mountSidebar() {
  frame = el("iframe", {
    class: "sidebar-frame",
    title: "Reply assistant",
    src: `/app/sidebar?ticket=${encodeURIComponent(ticketId)}&host=local#token=${encodeURIComponent(token())}`,
  });
  $("sidebar-slot").append(frame);
  window.addEventListener("message", (event) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const message = event.data || {};
    if (message.type === "outcomedesk:ready") sendTicket();
    if (message.type === "outcomedesk:insert" && typeof message.text === "string") {
      // Like Zendesk's comment.appendText: added to whatever the agent has typed.
      const box = $("reply-body");
      box.value = box.value ? `${box.value}\n\n${message.text}` : message.text;
      inserted = message.draft_id ? { draftId: message.draft_id, text: box.value } : null;
      $("reply-status").textContent = "Draft inserted into the reply.";
      box.focus();
    }
  });
}

async function send(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const body = String(data.get("body") || "").trim();
  if (!body) return;
  $("send").disabled = true;
  try {
    await api(`/api/v1/helpdesk/tickets/${ticketId}/replies`, {
      method: "POST",
      body: {
        body,
        public: data.get("visibility") !== "note",
        status: data.get("status") || null,
        idempotency_key: crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`,
      },
    });
    if (inserted && inserted.text.trim() !== body) {
      await api(`/api/v1/drafts/${inserted.draftId}/feedback`, {
        method: "POST",
        body: { kind: "edited", final_text: body },
      });
    }
    inserted = null;
    form.reset();
    $("reply-status").textContent = "Sent.";
    await load();
  } catch (error) {
    showError(notice, error);
  } finally {
    $("send").disabled = false;
  }
}

if (requireToken(notice)) {
  $("reply-form").addEventListener("submit", send);
  load()
    .then(mountSidebar)
    .catch((error) => showError(notice, error));
}
