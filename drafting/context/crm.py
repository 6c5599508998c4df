"""CRM facts from HubSpot's CRM v3 API (contact by e-mail, its company and deals) over httpx."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import PerLoop, fact, format_date, format_money, parse_decimal
from plugin.core.errors import UpstreamFailed, UpstreamTimeout

HUBSPOT_API = "https://api.hubapi.com"
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "lifecyclestage",
    "hs_lead_status",
    "company",
    "associatedcompanyid",
)
COMPANY_PROPERTIES = ("name", "domain", "lifecyclestage")
DEAL_PROPERTIES = ("dealname", "amount", "dealstage", "closedate", "hs_is_closed", "deal_currency_code")
MAX_DEALS = 20


class HubSpotSource:
    """Contact, company and open deals for the ticket's requester, looked up by e-mail.

    ``tier_property`` and ``churn_risk_property`` name custom properties (HubSpot has none built in); they
    are read from the contact first, then from its primary company.
    """

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str = HUBSPOT_API,
        name: str = "crm",
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        tier_property: str = "tier",
        vip_property: str = "vip",
        churn_risk_property: str = "churn_risk",
        currency: str = "USD",
    ) -> None:
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        self._client = client
        self._owned = PerLoop(httpx.AsyncClient, lambda owned: owned.aclose())
        self._timeout = timeout_s
        self._custom = (tier_property, vip_property, churn_risk_property)
        self._currency = currency

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        contact = await self._find_contact(customer.email)
        if contact is None:
            return ()
        properties = contact.get("properties") or {}
        associations = contact.get("associations") or {}
        company_links = _links(associations, "companies")
        # HubSpot keeps the primary company's id on the contact; the association typed as primary says the same.
        company_id = properties.get("associatedcompanyid") or _primary(company_links)
        deal_ids = list(dict.fromkeys(object_id for object_id, _ in _links(associations, "deals")))
        company, deals = await asyncio.gather(self._company(company_id), self._deals(deal_ids[:MAX_DEALS]))
        return self._facts(properties, company, deals)

    async def aclose(self) -> None:
        await self._owned.aclose()

    async def _find_contact(self, email: str) -> dict[str, Any] | None:
        # E-mail is the contact's unique id property, so one read by it also brings the associated ids.
        address = email.strip().lower()
        if not address:
            return None
        found = await self._request(
            "GET",
            f"/crm/v3/objects/contacts/{quote(address, safe='@')}",
            shown_path="/crm/v3/objects/contacts/{email}",
            params={
                "idProperty": "email",
                "properties": ",".join((*CONTACT_PROPERTIES, *self._custom)),
                "associations": "companies,deals",
            },
        )
        return found or None

    async def _company(self, company_id: str | None) -> dict[str, Any]:
        if not company_id:
            return {}
        company = await self._request(
            "GET",
            f"/crm/v3/objects/companies/{company_id}",
            params={"properties": ",".join((*COMPANY_PROPERTIES, *self._custom))},
        )
        return company.get("properties") or {}

    async def _deals(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        batch = await self._request(
            "POST",
            "/crm/v3/objects/deals/batch/read",
            json={"properties": list(DEAL_PROPERTIES), "inputs": [{"id": deal_id} for deal_id in ids]},
        )
        return [deal.get("properties") or {} for deal in batch.get("results") or []]

    async def _request(
        self, method: str, path: str, *, shown_path: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        client = self._client or self._owned.get()
        try:
            response = await client.request(
                method, f"{self._base_url}{path}", headers=self._headers, timeout=self._timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("HubSpot did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed(f"HubSpot unreachable ({type(exc).__name__})") from exc
        if response.status_code == 404:
            return {}
        if response.status_code in (401, 403):
            raise UpstreamFailed(f"HubSpot rejected the access token (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise UpstreamFailed(
                f"HubSpot returned HTTP {response.status_code} for {method} {shown_path or path}"
            )
        try:
            payload = response.json()
        except ValueError as exc:
            raise UpstreamFailed("HubSpot returned a body that is not JSON") from exc
        if not isinstance(payload, dict):
            raise UpstreamFailed("HubSpot returned an unexpected JSON shape")
        return payload

    def _facts(
        self, contact: dict[str, Any], company: dict[str, Any], deals: Sequence[dict[str, Any]]
    ) -> tuple[Fact, ...]:
        facts: list[Fact] = []

        def add(key: str, label: str, value: object) -> None:
            if value is not None and str(value).strip():
                facts.append(fact(self.name, key, label, str(value).strip()))

        first, last = (contact.get("firstname") or "").strip(), (contact.get("lastname") or "").strip()
        add("name", "Name", f"{first} {last}".strip())
        add("first_name", "First name", first)
        add("email", "E-mail", contact.get("email"))
        add("company", "Company", company.get("name") or contact.get("company"))
        add("lifecycle_stage", "Lifecycle stage", _humanise(contact.get("lifecyclestage")))
        tier_property, vip_property, churn_property = self._custom
        add("tier", "Tier", contact.get(tier_property) or company.get(tier_property))
        add("vip", "VIP", _yes_no(contact.get(vip_property) or company.get(vip_property)))
        add("churn_risk", "Churn risk", contact.get(churn_property) or company.get(churn_property))
        open_deals = [deal for deal in deals if str(deal.get("hs_is_closed", "false")).lower() != "true"]
        if deals:
            add("open_deals", "Open deals", len(open_deals))
        for index, deal in enumerate(open_deals[:3], start=1):
            add(f"open_deal_{index}", f"Open deal {index}", self._describe_deal(deal))
        return tuple(facts)

    def _describe_deal(self, deal: dict[str, Any]) -> str:
        parts = [str(deal.get("dealname") or "Unnamed deal")]
        amount = parse_decimal(deal.get("amount"))
        if amount is not None:
            parts.append(format_money(amount, deal.get("deal_currency_code") or self._currency))
        if deal.get("dealstage"):
            parts.append(f"stage {_humanise(deal['dealstage'])}")
        if deal.get("closedate"):
            parts.append(f"closing {format_date(str(deal['closedate']))}")
        return ", ".join(parts)


def _links(associations: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    """(object id, association type) of each associated record; HubSpot lists a record once per type."""
    found = associations.get(kind) or {}
    return [
        (str(link["id"]), str(link.get("type") or "")) for link in found.get("results") or [] if "id" in link
    ]


def _primary(company_links: Sequence[tuple[str, str]]) -> str | None:
    # "contact_to_company" is the primary association; the first company listed stands in for a missing one.
    primary = next((object_id for object_id, kind in company_links if kind == "contact_to_company"), None)
    return primary or (company_links[0][0] if company_links else None)


def _humanise(value: object) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    # HubSpot's internal values ("salesqualifiedlead", "closedwon") read poorly; known ones get their labels.
    return _STAGE_LABELS.get(text.lower(), text)


def _yes_no(value: object) -> str | None:
    if value is None or not str(value).strip():
        return None
    return "yes" if str(value).strip().lower() in {"true", "yes", "1", "y", "vip"} else "no"


_STAGE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing qualified lead",
    "salesqualifiedlead": "Sales qualified lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
    "appointmentscheduled": "Appointment scheduled",
    "qualifiedtobuy": "Qualified to buy",
    "presentationscheduled": "Presentation scheduled",
    "decisionmakerboughtin": "Decision maker bought in",
    "contractsent": "Contract sent",
    "closedwon": "Closed won",
    "closedlost": "Closed lost",
}
