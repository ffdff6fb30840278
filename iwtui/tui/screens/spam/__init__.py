"""The Spam Queues area: five tabs (quarantine, whitelist, blacklist, greylisting,
intrusion prevention), and the Add dialog."""
