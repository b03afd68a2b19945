"""Servers nobody on this team wrote (nginx, httpbin, Node's ``ws``, Redis, Chromium), started or
found by fixtures on 127.0.0.1, and what a test does when one is missing."""
