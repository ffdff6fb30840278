"""Spam Queues (spec section 3): antispam.db's quarantine, whitelist, blacklist and
greylist, tarpit.dat's intrusion prevention, and their actions."""
