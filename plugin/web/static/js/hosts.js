// Where the sidebar runs. Each host adapter has the same small interface:
//   ticket()            -> Promise<{id, requester: {id, email, name}, latest_message: {id, text}, channel}>
//   insert(text, draft) -> Promise<void>   puts the text into the agent's reply composer
//   onTicket(callback)                     called again when the host reports a changed ticket
//   name                                   for messages ("Zendesk", "the demo helpdesk", ...)
//
// The demo helpdesk embeds the sidebar in an iframe and talks to it with postMessage (same origin only):
//   sidebar -> parent  {type: "outcomedesk:ready"}
//   parent  -> sidebar {type: "outcomedesk:ticket", ticket: {id, requester: {id, email, name},
//                                                         latest_message: {id, text}, channel}}
//   sidebar -> parent  {type: "outcomedesk:insert", text, draft_id}
import { api } from "./api.js";

const WAIT_MS = 8000;

function zendeskQuery() {
  const query = new URLSearchParams(window.location.search);
  return query.has("origin") && query.has("app_guid");
}

export function detectHost(declared) {
  if (declared && declared !== "auto") return declared;
  if (zendeskQuery()) return "zendesk";
  return window.parent !== window ? "local" : "standalone";
}

export function makeAdapter(kind, ticketId) {
  if (kind === "zendesk") return zendeskAdapter();
  if (kind === "local") return localAdapter();
  return standaloneAdapter(ticketId);
}

function plainText(html) {
  return new DOMParser().parseFromString(html || "", "text/html").body.textContent.trim();
}

function zendeskAdapter() {
  if (typeof window.ZAFClient === "undefined") throw new Error("the Zendesk Apps SDK did not load");
  const client = window.ZAFClient.init();
  if (!client) throw new Error("this page must be opened by Zendesk");
  client.invoke("resize", { width: "100%", height: "720px" });
  return {
    name: "Zendesk",
    async ticket() {
      const data = await client.get(["ticket.id", "ticket.requester", "ticket.comments", "ticket.via.channel"]);
      const requester = data["ticket.requester"] || {};
      const comments = data["ticket.comments"] || [];
      const fromCustomer = comments.filter(
        (comment) => comment.author && (comment.author.role === "end-user" || comment.author.id === requester.id),
      );
      const latest = fromCustomer[fromCustomer.length - 1];
      return {
        id: String(data["ticket.id"]),
        requester: { id: String(requester.id || ""), email: requester.email || "", name: requester.name || "" },
        latest_message: latest ? { id: String(latest.id), text: plainText(latest.value) } : null,
        channel: data["ticket.via.channel"] || null,
      };
    },
    async insert(text) {
      await client.invoke("comment.appendText", text);
    },
    onTicket(callback) {
      client.on("ticket.updated", () => callback());
    },
  };
}

function localAdapter() {
  const origin = window.location.origin;
  let latest = null;
  let waiting = [];
  const listeners = [];
  window.addEventListener("message", (event) => {
    if (event.origin !== origin || event.source !== window.parent) return;
    const message = event.data || {};
    if (message.type !== "outcomedesk:ticket" || !message.ticket) return;
    const changed = latest !== null;
    latest = message.ticket;
    waiting.forEach((resolve) => resolve(latest));
    waiting = [];
    if (changed) listeners.forEach((callback) => callback());
  });
  window.parent.postMessage({ type: "outcomedesk:ready" }, origin);
  return {
    name: "the demo helpdesk",
    ticket() {
      if (latest) return Promise.resolve(latest);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        setTimeout(() => reject(new Error("the helpdesk page did not send the ticket")), WAIT_MS);
      });
    },
    async insert(text, draft) {
      window.parent.postMessage({ type: "outcomedesk:insert", text, draft_id: draft ? draft.id : null }, origin);
    },
    onTicket(callback) {
      listeners.push(callback);
    },
  };
}

// Opened on its own (no Zendesk, no parent page): read the ticket from the demo helpdesk's API and
// "insert" by copying to the clipboard.
function standaloneAdapter(ticketId) {
  return {
    name: "the clipboard",
    async ticket() {
      if (!ticketId) throw new Error("open the sidebar with ?ticket=<id>");
      const { ticket, comments } = await api(`/api/v1/helpdesk/tickets/${encodeURIComponent(ticketId)}`);
      const fromCustomer = comments.filter((comment) => comment.from_customer);
      const latest = fromCustomer[fromCustomer.length - 1];
      return {
        id: ticket.id,
        requester: { id: ticket.requester_id, email: ticket.requester_email, name: ticket.requester_name },
        latest_message: latest ? { id: latest.id, text: latest.body } : null,
        channel: ticket.channel,
      };
    },
    async insert(text) {
      await navigator.clipboard.writeText(text);
    },
    onTicket() {},
  };
}
