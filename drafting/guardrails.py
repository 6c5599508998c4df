"""Guardrails: lexicon and pattern checks that keep a ticket away from auto-resolution.

A hit never blocks drafting; it only means a human must look. The lexicons therefore lean towards
recall for the dangerous cases (prompt injection, other customers' data, security) and towards
precision for the common ones (a plain "how do I ..." question must not trip anything).
Prompt-injection patterns are also run on de-obfuscated variants of the ticket (homoglyphs,
leetspeak, spaced-out letters, rot13, reversed text and embedded base64) because attackers use them
precisely to slip past patterns like these.
Account facts trip guardrails too: a VIP tier, a CRM churn-risk score or flag, a partial context.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Iterable

from drafting.context.base import AccountContext

GUARDRAILS = (
    "refund",
    "cancellation",
    "billing_dispute",
    "legal",
    "security",
    "churn_risk",
    "angry_sentiment",
    "vip",
    "prompt_injection",
    "partial_context",
    "other_customer_data",
)

# Patterns run on lower-cased text; IGNORECASE would only slow every scan down.
_FLAGS = re.MULTILINE


def _compile(*patterns: str) -> re.Pattern[str]:
    # One alternation per guardrail scans the ticket once instead of once per pattern.
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), _FLAGS)


_TOPIC_PATTERNS: dict[str, re.Pattern[str]] = {
    "refund": _compile(
        r"\brefund",
        r"\b(?:my|the|our) money back\b",
        r"\breimburs",
        r"\bcharge ?back",
        r"\breembols",
        r"\brembours",
        r"\b(?:rück)?erstatt",
        r"\brimbors",
    ),
    "cancellation": _compile(
        r"\bcancel(?:l?ed|l?ing|lation|s)?\b(?:\W+\w+){0,4}?\W+(?:subscription|account|plan|membership|"
        r"service|order|contract|renewal|trial|card|booking|transfer|payment|policy)s?\b",
        r"\bunsubscribe\b",
        r"\b(?:terminate|close|delete|deactivate)\b(?:\W+\w+){0,2}?\W+(?:account|subscription|contract|membership)\b",
        r"\bstop (?:my |the )?(?:subscription|membership|auto-?renew(?:al)?)\b",
        r"\bcancelar\b",
        r"\bannuler\b",
        r"\bkündig",
        r"\bdisdir",
    ),
    "billing_dispute": _compile(
        r"\bdisput",
        r"\bcharge ?back",
        r"\b(?:charged|billed)\b(?:\W+\w+){0,3}?\W+(?:twice|two times|double|more than once|three times)\b",
        r"\bdouble[- ]?(?:charged?|billed|billing)\b",
        r"\bover-?charg",
        r"\bunauthori[sz]ed (?:charge|transaction|payment|debit|withdrawal|purchase)",
        r"\b(?:did ?n[o']?t|never) (?:authori[sz]e|make|recogni[sz]e|order|buy|purchase)\b(?:\W+\w+){0,3}?\W+"
        r"(?:charge|payment|transaction|purchase|debit)",
        r"\b(?:don'?t|do not) recogni[sz]e (?:this|that|the|a|an) (?:charge|payment|transaction|purchase|debit)",
        r"\b(?:wrong|incorrect) (?:amount|charge|bill|invoice)",
        r"\bbilling (?:error|mistake)",
        r"\bshould(?:n'?t| not) have been (?:charged|billed)",
        r"\b(?:still|keep|kept) (?:being |getting )?(?:charged|billed) after",
    ),
    "legal": _compile(
        r"\blawyers?\b",
        r"\battorneys?\b",
        r"\bsolicitors?\b",
        r"\blegal (?:action|team|counsel|proceedings|department)",
        r"\blaw ?suit",
        r"\bsu(?:e|ing) (?:you|your|the|them|this)\b",
        r"\b(?:take|taking) (?:you|this|them) to court\b",
        r"\bcourt (?:case|order)\b",
        r"\bsmall claims\b",
        r"\blitigat",
        r"\bclass action\b",
        r"\bcease and desist\b",
        r"\bsubpoena",
        r"\bgdpr\b",
        r"\bccpa\b",
        r"\bdata protection (?:authority|officer|request|act)",
        r"\bright to be forgotten\b",
        r"\bdata subject (?:access )?request\b",
        r"\bregulators?\b",
        r"\b(?:cfpb|ftc|ombudsman|trading standards|better business bureau)\b",
        r"\breport (?:you|this|your company) to\b",
        r"\bfile a (?:formal )?complaint with\b",
        r"\b(?:abogado|avocat|anwalt|avvocato)\b",
    ),
    "security": _compile(
        r"\bhack(?:ed|er|ers|ing)?\b",
        r"\bcompromis",
        r"\bphish",
        r"\b(?:stolen|lost) (?:my )?(?:card|phone|password|identity|credentials|wallet|device)",
        r"\b(?:card|phone|wallet|password|identity) (?:was|has been|got|is) (?:stolen|compromised|leaked)",
        r"\bidentity theft\b",
        r"\bfraud",
        r"\bscammed\b",
        r"\bsomeone (?:else )?(?:has |had )?(?:accessed|logged in|logged into|got into|is using|used|took|"
        r"changed)\b",
        r"\bunauthori[sz]ed (?:access|log-?in|sign-?in|user)",
        r"\bsuspicious (?:activity|log-?in|sign-?in|email|text|call|transaction|charge)",
        r"\b(?:data )?breach",
        r"\b(?:reset|disable|turn off|remove|bypass) (?:my |the )?(?:2fa|two[- ]factor|mfa|authenticator)",
        r"\b(?:password|credentials) (?:was |were |got )?leak",
        r"\b(?:malware|keylogger|sim swap)",
    ),
    "churn_risk": _compile(
        r"\bcancel(?:l?ing)? (?:my |our )?(?:subscription|account|membership|plan|service|contract)\b",
        r"\bclose (?:my|our) account\b",
        r"\bswitch(?:ing)? (?:over )?to (?:a |an )?(?:competitor|another|different|other)\b",
        r"\b(?:leave|leaving|quit|quitting|ditch(?:ing)?) (?:your|this) (?:service|bank|company|platform|product)\b",
        r"\btake (?:my|our) (?:business|money|account) (?:elsewhere|somewhere else)\b",
        r"\b(?:won'?t|will not|not going to|don'?t plan to) renew\b",
        r"\blooking (?:at|for) (?:alternatives|another (?:provider|bank|company|service))\b",
        r"\b(?:find|found|go to) (?:another|a different|a better) (?:bank|provider|company|service)\b",
        r"\bconsidering (?:leaving|cancell?ing|switching|closing)\b",
        r"\blast chance\b",
    ),
    "angry_sentiment": _compile(
        r"\b(?:fuck\w*|shit\w*|bullshit|crap|wtf|damn(?:ed)?|bastards?|pissed|screw you)\b",
        r"\b(?:idiots?|incompetent|useless|pathetic|clowns?|thieves|crooks|scam(?:mers)?|rip-?off)\b",
        r"\b(?:disgust\w*|furious|livid|outraged|appalled|infuriat\w*)\b",
        r"\b(?:unacceptable|ridiculous|absurd|outrageous)\b",
        r"\bworst (?:\w+ )?(?:service|company|experience|bank|support|app|product)\b",
        r"\b(?:terrible|horrible|awful|appalling|shocking|abysmal) (?:\w+ )?(?:service|experience|support|company)\b",
        r"\bsick (?:and tired|of)\b",
        r"\bfed up\b",
        r"\blast straw\b",
        r"\bwaste of (?:my )?(?:time|money)\b",
        r"\bthis is a joke\b",
        r"[!?]{3,}",
    ),
}

_OVERRIDE = r"(?:ignore|ignoring|disregard|forget|override|bypass|skip|circumvent|abandon|neglect)"
_RULES = (
    r"(?:instructions?|rules?|guidelines?|polic(?:y|ies)|prompts?|directives?|restrictions?|guardrails?|"
    r"constraints?|programming|safeguards?|filters?|safety)"
)
_STAFF = (
    r"(?:admin|administrator|sysadmin|root user|developer|dev|system operator|supervisor|moderator|"
    r"support agent|support lead|employee|staff(?: member)?|ceo|cto|it department|security team)"
)

_INJECTION = _compile(
    rf"\b{_OVERRIDE}\b(?:\W+\w+){{0,4}}?\W+{_RULES}\b",
    r"\b(?:forget|ignore|disregard) (?:everything|all|anything)(?: (?:you were|you've been|i) (?:told|said))?"
    r"(?: (?:above|before|previously|earlier|so far))?\b",
    r"\byou are now (?:an? |the |my )?(?:unrestricted|free|dan|jailbroken|admin|administrator|developer|in|"
    r"no longer|going to|acting|operating|different|ai|assistant|bot|chatbot|agent|evil|root)\b",
    r"\byou're now (?:a|an|my|the|in|free|unrestricted)\b",
    r"\bfrom now on,? (?:you|act|respond|answer|reply)\b",
    r"\byou (?:are|'re) (?:no longer|not) (?:an? )?(?:ai|assistant|bot|bound|restricted|limited)\b",
    rf"(?:^|[.,:;!]\s*)act as\b|\bact as (?:an? |the |my |if you were )?(?:{_STAFF}|dan|system|different|"
    r"unrestricted|jailbroken|ai|assistant|bot|gpt|llm|chatbot|human agent|manager)\b",
    r"\bpretend(?:ing)? (?:to be|you(?:'re| are)|that you|you have)\b",
    r"\brole[- ]?play",
    r"\b(?:developer|dev|debug|god|admin|maintenance|unrestricted|jailbreak) mode\b",
    r"\bjail ?break",
    r"\bdo anything now\b",
    r"\bsystem (?:prompt|message|instructions?)\b",
    r"\b(?:reveal|show|print|repeat|display|output|leak|dump|tell me) (?:me )?(?:your|the) (?:system |hidden |"
    r"initial |original |secret )?(?:prompt|instructions|configuration)\b",
    r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:system|inst)\]|<</?sys>>",
    r"^\s*(?:system|assistant|developer)\s*:",
    r"#{2,}\s*(?:instruction|system|new task)",
    r"\bnew (?:instructions?|task|rules?)\s*:",
    rf"\b(?:i'?m|i am|this is)\s+(?:an?\s+|the\s+|your\s+)?{_STAFF}\b(?:\W+\w+){{0,12}}?\W+"
    r"(?:show|give|send|reveal|access|look ?up|pull up|override|approve|authori[sz]e|grant|unlock|disable|"
    r"bypass|refund|export|list|tell)\b",
    r"\b(?:i'?m|i am|we are|this is) (?:\w+ )?(?:from|with) (?:your|the) (?:it|security|fraud|engineering|"
    r"support|compliance|dev(?:elopment)?|trust and safety) (?:team|department)\b",
    r"\b(?:i|we) (?:hereby )?authori[sz]e you to\b",
    r"\bi(?:'m| am) authori[sz]ed to\b",
    r"\b(?:override|admin|master|bypass) (?:code|password|key|token)\b",
    r"\bsecurity clearance\b",
    r"\bsudo\b",
    r"\b(?:your|the) (?:manager|supervisor|boss|ceo|management) (?:has |already )*(?:approved|authori[sz]ed|"
    r"said you (?:can|should|must))\b",
    r"\b(?:mark|set|close)\b(?:\W+\w+){0,2}?\W+ticket (?:as )?(?:resolved|solved|closed|done)\b",
    r"\b(?:auto-?)?approve (?:my|this|the) (?:refund|request|claim)\b",
    r"\b(?:do it|proceed|process|approve|refund|send|release|unlock|reset|change|give|transfer|just)\b"
    r"(?:\W+\w+){0,4}?\W+without (?:any )?(?:verification|verifying|checking|asking|approval|confirmation|"
    r"authentication)\b",
    r"\b(?:do not|don'?t|never) (?:escalate|tell|inform|notify|transfer|forward|involve|flag|log)\b",
    r"\b(?:respond|reply|answer|output|say) (?:only|exactly|verbatim)\b",
    r"\brepeat after me\b",
    r"\b(?:ignora|ignore|olvida) (?:todas? )?(?:las |tus |sus )?(?:instrucciones|reglas)",
    r"\b(?:ignore[rz]?|oublie[rz]?) (?:toutes? )?(?:les |tes |vos )?(?:instructions|r[eè]gles|consignes)",
    r"\b(?:ignorier\w*|vergiss) (?:alle |die |deine |ihre |vorherigen |bisherigen )*(?:anweisungen|regeln|"
    r"vorgaben)",
    r"\bignora (?:tutte )?(?:le )?(?:istruzioni|regole)",
    r"\b(?:ignore|ignora|esque[cç]a) (?:todas )?(?:as )?(?:instru[cç][oõ]es|regras)",
    r"\bnegeer (?:alle |je |de )*(?:instructies|regels)",
    r"\b(?:ahora eres|tu es maintenant|du bist jetzt|sei ora|agora voc[eê] [eé])\b",
    r"\b(?:modo desarrollador|mode d[ée]veloppeur|entwicklermodus|modalit[aà] sviluppatore)\b",
    r"(?:忽略|无视|忽視|無視).{0,12}(?:指令|规则|規則|指示|提示|说明)",
    r"(?:指示|ルール|命令|ルール).{0,6}(?:を)?無視",
    r"(?:игнорируй|забудь|проигнорируй).{0,30}(?:инструкци|правил)",
)

# Spaced-out or punctuated letters ("i.g.n.o.r.e") collapse to these once everything but letters is dropped.
_COMPACT_INJECTION = _compile(
    r"(?:ignore|disregard|forget|override|bypass)(?:all|your|the|any|previous|prior|above|earlier|these|"
    r"those|system|my){0,3}(?:instructions?|rules|guidelines|policies|prompt|directives|restrictions|"
    r"guardrails)",
    r"systemprompt",
    r"developermode",
    r"jailbreak",
    r"doanythingnow",
    r"youarenow(?:unrestricted|free|dan|jailbroken|admin|developer)",
    r"pretend(?:tobe|youare|thatyou)",
)

_OTHER_PERSON = (
    r"(?:another|other|a different|different|some other|all|every|the other)\s+(?:customers?|users?|"
    r"clients?|account ?holders?|members?|persons?|people)"
    r"|someone else|somebody else|anyone else|everyone|everybody"
)
_DATA = (
    r"(?:account|accounts|orders?|email|e-mail|emails|phone(?: number)?|address|card|cards|balance|password|"
    r"details|data|info|information|status|transactions?|purchases?|history|subscription|invoices?|profile|"
    r"records?|payment methods?)"
)
_RELATIVE = (
    r"(?:wife|husband|partner|friend|colleague|co-?worker|boss|mother|mom|mum|father|dad|son|daughter|"
    r"brother|sister|neighbou?r|ex|roommate|flatmate|employee|cousin|aunt|uncle|grandma|grandpa)"
)
_OTHER_DATA = _compile(
    rf"\b(?:{_OTHER_PERSON})(?:'s|s')?\s+(?:\w+\s+)?{_DATA}\b",
    rf"\b{_DATA}\s+(?:of|for|belonging to|from|on)\s+(?:{_OTHER_PERSON})\b",
    r"\b(?:customer|user|client|member|account holder)s?\s*(?:#|no\.?|number|id)?\s*:?\s*#?\d+\b",
    # A relative's account is only suspicious when the ticket asks to see or change it; paying into a
    # friend's account is an ordinary transfer question.
    r"\b(?:show|check|tell|give|send|look ?up|access|see|find|get|pull up|reset|change|update|what|status of|"
    rf"balance of|log ?in(?:to)?)\b(?:\W+\w+){{0,4}}?\W+(?:my|his|her|their|a) {_RELATIVE}(?:'s|s')\s+"
    rf"(?:\w+\s+)?{_DATA}\b",
    r"\b(?:list|export|dump|download|all)\s+(?:of\s+)?(?:the\s+|your\s+)?(?:customers?|users?|clients?)"
    r"(?:'s|s')?\s*(?:emails?|data|list|records|database|accounts|details|orders)?\b",
    r"\bcustomer (?:list|database|records)\b",
    r"\b(?:what(?:'s| is| are)?|show|tell|give|send|read)\b(?:\W+\w+){0,3}?\W+(?:his|her) (?:\w+ )?"
    r"(?:balance|card|password|pin|email|phone|address|account|orders?|details|transactions)\b",
)
_CAPITALISED_POSSESSIVE = re.compile(
    r"\b(?!(?:My|Our|Your|The|This|That|It|What|Where|Who|How|Why|When|There|Here|He|She|Let|Today|"
    r"Yesterday|Tomorrow|Last|Next|Everyone|Everybody|Nobody|Someone|Somebody|One)\b)"
    rf"[A-Z][a-z]+(?:\s[A-Z][a-z]+)?'s\s+"
    rf"(?:\w+\s+)?{_DATA}\b"
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_OWN_EMAIL_CUE = re.compile(
    r"(?:\bmy\b[^.@]{0,30}\be-?mail\b(?: address)?|\b(?:reach|contact|email) me\b|\bme at\b|\bcc\b|"
    r"\bchange[ds]?\b[^.@]{0,30}\bto\b|\bupdate[ds]?\b[^.@]{0,30}\bto\b)[^.@]{0,25}$",
    re.IGNORECASE,
)
_ORDER_ID = re.compile(r"#[A-Z]{0,3}\d{4,}\b|\b[A-Z]\d{7}\b")

_CHURN_RISK_VALUES = frozenset(
    {"high", "very high", "critical", "severe", "at risk", "at_risk", "likely", "yes", "true"}
)
_VIP_KEYS = frozenset({"tier", "segment", "account_tier", "customer_tier", "priority", "vip"})
_VIP_VALUES = frozenset(
    {"vip", "enterprise", "strategic", "key account", "key", "platinum", "premier", "true", "yes", "1", "y"}
)

_ZERO_WIDTH = re.compile(r"[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSaBeikvoptuxABEHIKMNOPTYX",
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "i"}
)
_LEET_CANDIDATE = re.compile(r"[a-z013457@$|]*[013457@$|][a-z013457@$|]*")
_LEET_WORD = re.compile(r"(?=(?:[^a-z]*[a-z]){2})[a-z013457@$|]+")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-ZÀ-Þ]")
_COMMON_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "at",
        "be",
        "but",
        "can",
        "do",
        "for",
        "from",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "not",
        "of",
        "on",
        "or",
        "please",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "why",
        "with",
        "you",
        "your",
    ]
)
_SPACED_LETTERS = re.compile(r"(?:\b[a-z]\b[\s.\-_*/+]+){3,}\b[a-z]\b")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")


def detect_guardrails(ticket_text: str, context: AccountContext | None = None) -> tuple[str, ...]:
    """Names of the guardrails the ticket (and its account context) trips, in ``GUARDRAILS`` order."""
    text = _normalise(ticket_text)
    hits: set[str] = {name for name, pattern in _TOPIC_PATTERNS.items() if pattern.search(text)}
    if _shouting(ticket_text):
        hits.add("angry_sentiment")
    if _is_injection(text, ticket_text):
        hits.add("prompt_injection")
    if _asks_for_other_customer(ticket_text, text, context):
        hits.add("other_customer_data")
    if context is not None:
        if context.partial:
            hits.add("partial_context")
        if _is_vip(context):
            hits.add("vip")
        if _at_churn_risk(context):
            hits.add("churn_risk")
    return tuple(name for name in GUARDRAILS if name in hits)


def _normalise(text: str) -> str:
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    if text.isascii():
        return re.sub(r"[ \t]+", " ", text).lower()
    # Homoglyphs are mapped only inside words that mix scripts, so genuine Russian or Greek text keeps its
    # own letters for the multilingual patterns.
    words = re.split(r"(\s+)", text)
    mapped = [word.translate(_CONFUSABLES) if _mixes_scripts(word) else word for word in words]
    return re.sub(r"[ \t]+", " ", "".join(mapped)).lower().replace("\u2019", "'")


def _mixes_scripts(word: str) -> bool:
    has_latin = any("a" <= char.lower() <= "z" for char in word)
    has_other = any(char.isalpha() and not char.isascii() for char in word)
    return (has_latin and has_other) or (has_other and word.translate(_CONFUSABLES).isascii())


def _any(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    return any(pattern.search(text) for text in texts)


def _shouting(text: str) -> bool:
    letters = len(_LETTER.findall(text))
    return letters >= 20 and len(_UPPER.findall(text)) / letters > 0.7


def _is_injection(text: str, original: str) -> bool:
    if _decoded_blobs(original):
        return True
    variants = [text]
    if any(_LEET_WORD.fullmatch(word) for word in _LEET_CANDIDATE.findall(_EMAIL.sub(" ", text))):
        variants.append(text.translate(_LEET))
    # rot13 and reversed text read as gibberish; only then are those readings worth a scan.
    if not _reads_as_english(text):
        variants.extend([codecs.encode(text, "rot13"), text[::-1]])
    if _any(_INJECTION, variants):
        return True
    # Joined-up text makes phrases out of ordinary word boundaries, so it is only read when letters have
    # actually been spaced or punctuated apart.
    if not _SPACED_LETTERS.search(text.translate(_LEET)):
        return False
    compact = [re.sub(r"[^a-z]", "", variant) for variant in (text, text.translate(_LEET))]
    return _any(_COMPACT_INJECTION, compact)


def _reads_as_english(text: str) -> bool:
    words = re.findall(r"[a-z']+", text)
    return len(words) >= 4 and sum(word in _COMMON_WORDS for word in words) / len(words) >= 0.15


def _decoded_blobs(text: str) -> list[str]:
    # A readable message hidden in base64 inside a support ticket has no innocent explanation.
    decoded: list[str] = []
    for match in _BASE64.finditer(text):
        blob = match.group()
        if not re.search(r"[a-z]", blob) or not re.search(r"[0-9+/=A-Z]", blob):
            continue
        for candidate in (blob, blob[: len(blob) // 4 * 4]):
            try:
                raw = base64.b64decode(candidate + "=" * (-len(candidate) % 4), validate=True)
                plain = raw.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            printable = sum(char.isprintable() for char in plain) / max(len(plain), 1)
            if printable > 0.95 and " " in plain and sum(char.isalpha() for char in plain) > len(plain) / 2:
                decoded.append(plain.lower())
                break
    return decoded


def _asks_for_other_customer(original: str, text: str, context: AccountContext | None) -> bool:
    if _any(_OTHER_DATA, [text]) or _CAPITALISED_POSSESSIVE.search(original):
        return True
    own_emails = _own_emails(context)
    for match in _EMAIL.finditer(original):
        email = match.group().lower()
        if email in own_emails:
            continue
        before = original[max(0, match.start() - 60) : match.start()]
        after = original[match.end() : match.end() + 60].lower()
        if _OWN_EMAIL_CUE.search(before) and not after.startswith("'s"):
            continue
        if after.startswith("'s") or re.search(rf"\b{_DATA}\b", text):
            return True
    return _names_unknown_order(original, context)


def _own_emails(context: AccountContext | None) -> set[str]:
    if context is None:
        return set()
    emails = {fact.value.strip().lower() for fact in context.facts if "email" in fact.key}
    emails.add(context.customer_ref.strip().lower())
    return emails


def _names_unknown_order(original: str, context: AccountContext | None) -> bool:
    if context is None:
        return False
    known = {
        re.sub(r"[^A-Z0-9]", "", match.upper())
        for fact in context.facts
        if fact.key.startswith("order")
        for match in _ORDER_ID.findall(fact.value)
    }
    # Without any order facts we cannot tell whose order it is; the grounding check still keeps the id out.
    if not known:
        return False
    mentioned = {re.sub(r"[^A-Z0-9]", "", match.upper()) for match in _ORDER_ID.findall(original)}
    return bool(mentioned - known)


def _is_vip(context: AccountContext) -> bool:
    return any(fact.key in _VIP_KEYS and fact.value.strip().lower() in _VIP_VALUES for fact in context.facts)


def _at_churn_risk(context: AccountContext) -> bool:
    """A churn-risk fact (the CRM's ``churn_risk`` property) saying the account may leave: a word such as
    "high" or "at risk", or a score of at least 0.5 (or 50 on a 0-100 scale)."""
    for fact in context.facts:
        if fact.key != "churn_risk":
            continue
        value = fact.value.strip().lower().rstrip("%")
        if value in _CHURN_RISK_VALUES:
            return True
        try:
            score = float(value)
        except ValueError:
            continue
        if score >= (50.0 if score > 1.0 else 0.5):
            return True
    return False
