"""Fulfillment in chunks: a wave of thousands of parts issued a few hundred at a time.

A chunk job (``fulfillment.issue_chunk``) claims the chunk's due items (``FOR NO KEY UPDATE
SKIP LOCKED`` on PostgreSQL, so several workers share a wave; SQLite's writers take turns under
``BEGIN IMMEDIATE``), notes the partner calls it is about to make and commits that note once for
the whole chunk, then issues the chunk in one transaction: code-pool parts with one claim of
codes per offer and order (``pool``), the others one by one in a savepoint each (one bad part is
undone alone), and settles lines and orders once per chunk (``settle``). The single-item path
(``fulfillment.issue_item``) stays for retries an admin starts and as the fallback of a chunk
that crashed.
"""
