"""The Zendesk app: its validator, its upload package and the signed-URL JWT the sidebar authenticates with."""
