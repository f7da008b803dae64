"""Fulfillment with partners after the call: their callbacks (``callbacks``; the route is
``fulfillment.callback_views``), asking before repeating an unrecorded call (``reconcile``)
and the insurers' daily remittance files (``remittance``)."""
