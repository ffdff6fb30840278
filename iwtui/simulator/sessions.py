"""Sessions of a simulated IceWarp server, as events by offset in seconds.

A session is a list of :class:`Event`; the thread id, the clock and the message id are
filled in later (``\\x00M`` marks the message id), so the same sessions can be stamped
into fast templates for big day logs or written one line at a time in live mode.
Wording follows the seed's examples and the spec (section 5.3).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from iwtui.simulator import data

MID = "\x00M"  # placeholder for the message id (e.g. YAR93710)


@dataclass(frozen=True)
class Event:
    offset: int  # seconds after the session's start
    service: str  # smtp, pop3, imap, flow, performance, antispam
    who: str
    text: str
    pad: bool = True  # WHO left-justified to 16 columns (the SMTP/POP3/IMAP look)


@dataclass
class Mail:
    """An accepted message, for live mode to queue or deliver."""

    sender: str
    recipients: list[str]
    size: int
    subject: str
    remote: bool


@dataclass
class Session:
    kind: str
    events: list[Event] = field(default_factory=list)
    mail: Mail | None = None


def local_address(rng: random.Random) -> str:
    return f"{rng.choice(data.LOCAL_USERS)}@{rng.choice(data.LOCAL_DOMAINS)}"


def remote_address(rng: random.Random) -> str:
    return f"{rng.choice(data.REMOTE_USERS)}@{rng.choice(data.REMOTE_DOMAINS)}"


PEER_FIRST_OCTETS = (31, 37, 46, 62, 77, 81, 85, 89, 91, 109, 151, 178, 185, 193, 195, 212, 213)


def peer_ip(rng: random.Random, firsts: tuple[int, ...] = PEER_FIRST_OCTETS) -> str:
    """A public-looking IPv4 address whose first octet is one of ``firsts``."""
    return f"{rng.choice(firsts)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def duration(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _B:
    """A small builder: adds events at a moving offset."""

    def __init__(self, rng: random.Random, who: str, service: str = "smtp") -> None:
        self.rng, self.who, self.service = rng, who, service
        self.t = 0
        self.events: list[Event] = []

    def say(
        self,
        text: str,
        *,
        who: str | None = None,
        service: str | None = None,
        pad: bool = True,
        tick: float = 0.3,
    ) -> None:
        if self.rng.random() < tick:
            self.t += 1
        self.events.append(Event(self.t, service or self.service, who or self.who, text, pad))


def smtp_inbound(rng: random.Random) -> Session:
    """A server session: accepted mail, or one of the seed's rejections."""
    ip = peer_ip(rng) if rng.random() < 0.8 else "127.0.0.1"
    b = _B(rng, ip)
    roll = rng.random()
    submission = rng.random() < 0.25
    sender = local_address(rng) if submission else remote_address(rng)
    helo = "localhost" if ip == "127.0.0.1" else f"mail.{sender.split('@')[1]}"
    b.say("Connected")
    b.say(">>> 220 mail.icewarpdemo.com ESMTP IceWarp 14.0; ready")
    b.say(f"<<< EHLO {helo}")
    b.say(">>> 250-mail.icewarpdemo.com Hello " + helo + f" [{ip}], pleased to meet you.")
    if rng.random() < 0.6:
        b.say("<<< STARTTLS")
        b.say(">>> 220 2.0.0 Begin TLS negotiation")
        b.say("TLS connection established (TLSv1.3, TLS_AES_256_GCM_SHA384)")
    if submission:
        b.say("<<< AUTH LOGIN")
        user = sender
        if roll < 0.05:
            b.say(">>> 535 5.7.1 Authentication credentials invalid")
            b.say(f"Authentication failed for {user}")
            b.say("<<< QUIT")
            b.say(">>> 221 2.0.0 mail.icewarpdemo.com closing connection")
            b.say("Disconnected", who="SYSTEM")
            return Session("auth-failed", b.events)
        b.say(">>> 235 2.7.0 Authentication successful")
    if roll < 0.04 and not submission:
        # Intrusion prevention: the peer is tarpitted.
        letter = rng.choice("IRDPYSL")
        b.say(f"Intrusion prevention: IP blocked ({letter}), expires \x00E")
        b.say(">>> 554 5.7.1 Permission denied")
        b.say("Disconnected", who="SYSTEM")
        return Session("tarpit", b.events)
    b.say(f"<<< MAIL From:<{sender}> SIZE={rng.randrange(900, 90000)}")
    b.say(f">>> 250 2.1.0 <{sender}>... Sender ok")
    if submission:
        rcpts = [
            remote_address(rng) if rng.random() < 0.6 else local_address(rng)
            for _ in range(1 if rng.random() < 0.8 else rng.randrange(2, 5))
        ]
    else:
        rcpts = [
            local_address(rng) for _ in range(1 if rng.random() < 0.85 else rng.randrange(2, 4))
        ]
    if not submission and roll < 0.30:
        code, enh, phrase, cls = rng.choice(data.REJECTIONS)
        rcpt = rcpts[0]
        if cls == "DNSBL" or cls == "SDME":
            b.events.pop()
            b.say(f">>> {code} {enh} {phrase}")
        else:
            b.say(f"<<< RCPT To:<{rcpt}>")
            b.say(f">>> {code} {enh} {phrase}")
        if roll < 0.08 and cls == "UNK":
            b.say("<<< RCPT To:<" + f"{rng.choice(data.REMOTE_USERS)}x@{rcpt.split('@')[1]}>")
            b.say(f">>> {code} {enh} {phrase}")
        b.say(f"*** <{sender}> <{rcpt}> 1 0 {duration(b.t)} {cls}")
        b.say("<<< QUIT")
        b.say(">>> 221 2.0.0 mail.icewarpdemo.com closing connection")
        b.say("Disconnected", who="SYSTEM")
        return Session("rejected", b.events)
    if not submission and roll < 0.40:
        b.say(f"<<< RCPT To:<{rcpts[0]}>")
        b.say(">>> 451 4.7.1 Greylisted, please try again later")
        b.say(f"*** <{sender}> <{rcpts[0]}> 1 0 {duration(b.t)} GRLST")
        b.say("Disconnected", who="SYSTEM")
        return Session("greylisted", b.events)
    if submission and roll < 0.12:
        rcpt = remote_address(rng)
        b.say(f"<<< RCPT To:<{rcpt}>")
        b.say(">>> 550 5.7.1 We do not relay")
        b.say(f"*** <{sender}> <{rcpt}> 1 0 {duration(b.t)} WDNR")
        b.say("Disconnected", who="SYSTEM")
        return Session("relay-denied", b.events)
    for r in rcpts:
        b.say(f"<<< RCPT To:<{r}>")
        note = "; will forward" if r.split("@")[1] not in data.LOCAL_DOMAINS else ""
        b.say(f">>> 250 2.1.5 <{r}>... Recipient ok{note}")
    b.say("<<< DATA")
    b.say(">>> 354 Enter mail, end with '.' on a line by itself")
    size = int(rng.lognormvariate(8.3, 1.1)) + 400
    b.t += 1 if size < 200_000 else 3
    start = b.t
    b.say("Start of mail processing", tick=0)
    b.say("HandleLocalMail Begin", who="SYSTEM", service="flow", pad=False, tick=0)
    if rng.random() < 0.15:
        b.say(
            f"SMTP: :25 s. waiting for ThreadLock(3) UserStatisticsUnit_61, waited for "
            f"{rng.randrange(20, 900)} instances",
            who="SYSTEM",
            service="performance",
            pad=False,
            tick=0,
        )
    verdict = rng.random()
    if not submission:
        score = round(rng.uniform(0, 3), 2) if verdict < 0.8 else round(rng.uniform(5, 15), 2)
        action = "PASS" if score < 5 else ("QUARANTINE" if verdict < 0.9 else "SPAM")
        for r in rcpts:
            b.say(
                f"{MID} '<{sender}>' '<{r}>' 1 score {score:.2f} reason "
                f"{rng.choice(data.ANTISPAM_REASONS)} action {action}",
                who="127.0.0.1",
                service="antispam",
                tick=0,
            )
    b.t += rng.choice((0, 0, 0, 1, 2))
    b.say("HandleLocalMail End", who="SYSTEM", service="flow", pad=False, tick=0)
    b.say(
        f"*** <{sender}> {' '.join(f'<{r}>' for r in rcpts)} {len(rcpts)} {size} "
        f"{duration(b.t - start)} OK {MID}",
        tick=0,
    )
    b.say(
        f">>> 250 2.6.0 {size} bytes received in {duration(b.t - start)}; Message accepted for delivery"
    )
    b.say("<<< QUIT")
    b.say(">>> 221 2.0.0 mail.icewarpdemo.com closing connection")
    b.say("Disconnected", who="SYSTEM")
    remote = any(r.split("@")[1] not in data.LOCAL_DOMAINS for r in rcpts)
    mail = Mail(sender, rcpts, size, rng.choice(data.SUBJECTS), remote)
    return Session("accepted", b.events, mail)


def smtp_outbound(rng: random.Random, mail: Mail | None = None, fail: str | None = None) -> Session:
    """A client session delivering one message out.

    ``fail``: None picks at random (mostly success), ``"ok"`` delivers, ``"connect"``,
    ``"dns"`` or ``"reply"`` defer the message (it stays in the retry queue)."""
    sender = mail.sender if mail else local_address(rng)
    rcpt = next(
        (r for r in (mail.recipients if mail else []) if r.split("@")[1] not in data.LOCAL_DOMAINS),
        remote_address(rng),
    )
    size = mail.size if mail else int(rng.lognormvariate(8.0, 1.0)) + 400
    domain = rcpt.split("@")[1]
    mx = rng.choice(data.MX_HOSTS)
    kind, text = rng.choice(data.DEFERRALS) if fail is None else (fail, "")
    roll = rng.random()
    if fail is None and roll < 0.85:
        kind = "ok"
    if kind in ("connect", "dns"):
        b = _B(rng, "SYSTEM")
        b.say(f"Client session Connecting to '{mx}'")
        b.t += 3
        msg = (text or "Could not connect to '{mx}(0.0.0.0)'").format(mx=mx, domain=domain)
        b.say(f"Client session {msg}", tick=0)
        b.say(f"Client session *** <{sender}> <{rcpt}> 1 {size} {duration(b.t)} CNC {MID}", tick=0)
        b.say("Client session Disconnected")
        return Session("deferred", b.events, Mail(sender, [rcpt], size, "", True))
    ip = peer_ip(rng)
    b = _B(rng, ip)
    b.say("Client session Connected")
    b.say(f"Client session <<< 220 {mx} ESMTP")
    b.say("Client session >>> EHLO mail.icewarpdemo.com")
    b.say("Client session <<< 250 8BITMIME")
    b.say(f"Client session >>> MAIL From:<{sender}>")
    b.say("Client session <<< 250 ok")
    b.say(f"Client session >>> RCPT To:<{rcpt}>")
    if kind == "ok":
        b.say("Client session <<< 250 ok")
        b.say("Client session >>> DATA")
        b.say("Client session <<< 354 go ahead")
        b.t += 1
        b.say(
            f"Client session <<< 250 ok {rng.randrange(10**9, 2 * 10**9)} qp {rng.randrange(99999)}"
        )
        b.say(f"Client session *** <{sender}> <{rcpt}> 1 {size} {duration(b.t)} OK {MID}", tick=0)
        result = "delivered"
    else:
        reply = text or "452 4.2.2 Mailbox has exceeded the limit"
        b.say(f"Client session <<< {reply}")
        b.say(
            f"Client session *** <{sender}> <{rcpt}> 1 {size} {duration(b.t)} ERROR {MID}", tick=0
        )
        result = "deferred"
    b.say("Client session >>> QUIT")
    b.say(f"Client session <<< 221 {mx}")
    b.say("Client session Disconnected", who="SYSTEM")
    return Session(result, b.events, Mail(sender, [rcpt], size, "", True))


def mailbox_login(rng: random.Random, service: str) -> Session:
    """A POP3 or IMAP session: login (or failure), a little work, logout."""
    ip = peer_ip(rng) if rng.random() < 0.7 else "192.168.1." + str(rng.randrange(2, 250))
    b = _B(rng, ip, service)
    user = local_address(rng)
    failed = rng.random() < 0.12
    b.say("Connected")
    if service == "pop3":
        b.say(">>> +OK mail.icewarpdemo.com IceWarp POP3 server ready")
        b.say(f"<<< USER {user}")
        b.say(">>> +OK")
        b.say("<<< PASS ********")
        if failed:
            b.say(f"Authentication failed for {user}")
            b.say(">>> -ERR Invalid username or password")
        else:
            b.say(f"User {user} logged in")
            b.say(f">>> +OK {rng.randrange(0, 40)} messages")
            b.say("<<< STAT")
            b.say(f">>> +OK {rng.randrange(0, 40)} {rng.randrange(0, 10**7)}")
            b.say("<<< QUIT")
            b.say(">>> +OK bye")
    else:
        b.say(">>> * OK IMAP4rev1 mail.icewarpdemo.com ready")
        b.say("<<< A001 LOGIN " + user + " ********")
        if failed:
            b.say(f"Authentication failed for {user}")
            b.say(">>> A001 NO LOGIN failed")
        else:
            b.say(f"User {user} logged in")
            b.say(">>> A001 OK LOGIN completed")
            b.say("<<< A002 SELECT INBOX")
            b.say(f">>> * {rng.randrange(0, 500)} EXISTS")
            b.say(">>> A002 OK [READ-WRITE] SELECT completed")
            b.t += rng.randrange(0, 30)
            b.say("<<< A003 LOGOUT")
            b.say(">>> A003 OK LOGOUT completed")
    b.say("Disconnected", who="SYSTEM")
    return Session("login-failed" if failed else "login", b.events)


def any_session(rng: random.Random) -> Session:
    """A session of the traffic mix: mostly SMTP, then IMAP and POP3."""
    roll = rng.random()
    if roll < 0.55:
        return smtp_inbound(rng)
    if roll < 0.72:
        return smtp_outbound(rng)
    if roll < 0.90:
        return mailbox_login(rng, "imap")
    return mailbox_login(rng, "pop3")
