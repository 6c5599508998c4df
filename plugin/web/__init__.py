"""The product's pages: the agent sidebar, the manager dashboard, the finance pages and the demo helpdesk."""
