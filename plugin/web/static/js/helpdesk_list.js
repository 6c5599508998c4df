// The demo helpdesk's ticket list.
import { api, clear, dateTime, el, requireToken, showError } from "./api.js";

const notice = document.getElementById("page-notice");
const body = document.querySelector("#tickets tbody");

async function load() {
  const status = document.getElementById("status").value;
  const query = status ? `?status=${encodeURIComponent(status)}` : "";
  try {
    const tickets = await api(`/api/v1/helpdesk/tickets${query}`);
    clear(body);
    if (!tickets.length) body.append(el("tr", {}, el("td", { colspan: 6, text: "No tickets." })));
    for (const ticket of tickets) {
      body.append(
        el(
          "tr",
          {},
          el("td", { class: "num", text: ticket.id }),
          el("td", {}, el("a", { href: `/helpdesk/tickets/${ticket.id}`, text: ticket.subject })),
          el("td", { text: ticket.requester_name || ticket.requester_email || ticket.requester_id }),
          el("td", { text: ticket.status }),
          el("td", { text: ticket.priority || "" }),
          el("td", { text: dateTime(ticket.updated_at) }),
        ),
      );
    }
  } catch (error) {
    showError(notice, error);
  }
}

if (requireToken(notice)) {
  document.getElementById("filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  load();
}
