"""Torrents, on the master and on minions: create, read and check them, place their files, sign them."""
