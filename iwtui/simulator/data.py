"""What the simulated server talks about: domains, people, peers, subjects, replies."""

from __future__ import annotations

LOCAL_DOMAINS = ("icewarpdemo.com", "acme-corp.test", "brno-office.test")
LOCAL_USERS = (
    "admin",
    "john.doe",
    "jana.novakova",
    "petr",
    "sales",
    "support",
    "info",
    "marketing",
    "lucie",
    "tomas.k",
    "eva.h",
    "billing",
    "hr",
    "ondrej",
    "martina",
    "noc",
)
REMOTE_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "seznam.cz",
    "example.org",
    "partner-co.test",
    "freight-logistics.test",
    "newsletter.shop.test",
    "bank-notices.test",
    "uni-research.test",
)
REMOTE_USERS = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "news",
    "noreply",
    "orders",
    "alerts",
)
SPAM_SENDERS = (
    "winner@lottery-prize.test",
    "pharma@cheap-meds.test",
    "ceo@urgent-wire.test",
    "security@paypa1-verify.test",
    "deals@mega-discount.test",
    "hr@job-offer-now.test",
)
MX_HOSTS = (
    "mx1.gmail.com",
    "mta5.am0.yahoodns.net",
    "outlook-com.olc.protection.outlook.com",
    "mx.seznam.cz",
    "mail.example.org",
    "mx.partner-co.test",
    "mail.hsps.com.br",
)

# Subjects include hostile ones on purpose: escape sequences, Rich markup and encoded words
# must render inert everywhere iwtui shows them.
SUBJECTS = (
    "Quarterly report Q3",
    "Re: Meeting tomorrow at 10",
    "Invoice 2026-1142",
    "Your order has shipped",
    "Fwd: contract draft v4",
    "Password expiry notice",
    "Lunch?",
    "=?UTF-8?B?UMWZaWhsw6HFoWVuw60gZG8gc3lzdMOpbXU=?=",
    "=?ISO-8859-2?Q?Faktura_=E8.=A02026/118?=",
    "[bold red]URGENT[/bold red] wire transfer",
    "\x1b[31mRED ALERT\x1b[0m account locked",
    "Cena za dopravu – nabídka",
    "Out of office: back on Monday",
    "Build #4411 failed",
    "You have won 1,000,000 $$$",
    "Re: [link=https://evil.test]click[/link]",
)
SPAM_SUBJECTS = (
    "You have won 1,000,000 $$$",
    "Cheap meds, no prescription",
    "Verify your account now",
    "[bold red]URGENT[/bold red] wire transfer",
    "\x1b[31mRED ALERT\x1b[0m account locked",
    "Exclusive job offer for you",
)

# (code, enhanced code, phrase, Log Analyzer class) from the seed's "Interpretation of
# 5xx Errors" table; the class is what a `***` summary of such a session carries.
REJECTIONS = (
    ("550", "5.1.1", "User unknown; rejecting", "UNK"),
    ("550", "5.1.1", "Unknown user; rejecting", "UNK"),
    ("550", "5.7.1", "We do not relay", "WDNR"),
    ("550", "5.7.1", "Access not allowed", "ANA"),
    ("501", "5.7.1", "Sender domain must exist", "SDME"),
    ("501", "5.7.1", "Sender refused by the DNSBL", "DNSBL"),
    ("554", "5.7.1", "Message cannot be accepted, spam rejection", "AS"),
    ("554", "5.7.1", "Message cannot be accepted, virus found", "AV"),
    ("554", "5.7.1", "Message cannot be accepted, content filter rejection", "DBF"),
    ("554", "5.3.4", "Message size exceeds fixed maximum message size", "ERROR"),
    ("552", "5.2.2", "Mailbox has exceeded the limit", "ERROR"),
    ("530", "5.7.1", "Authentication required [AUTH]", "ERROR"),
)
# Deferrals seen by client sessions (what leaves a message in the retry queue).
DEFERRALS = (
    ("connect", "Could not connect to '{mx}(0.0.0.0)'"),
    ("reply", "452 4.2.2 Mailbox has exceeded the limit"),
    ("reply", "421 4.7.0 Try again later, closing connection"),
    ("reply", "451 4.7.1 Greylisted, please try again later"),
    ("reply", "450 4.2.1 Mailbox temporarily unavailable"),
    ("dns", "... while issuing MX query for '{domain}'"),
)
TARPIT_REASONS = "CIMRDAPYSUL"
ANTISPAM_REASONS = (
    "[SpamAssassin=10.00,Bayes=99.99,Body=PE]",
    "[SpamAssassin=4.20,Bayes=80.10]",
    "[Bayes=99.90,RBL=zen]",
    "[SpamAssassin=0.20]",
    "[SpamAssassin=12.00,Body=PE,Header=FROM_MISMATCH]",
)
