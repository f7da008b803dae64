"""Money: the Stripe gateway, paying an order, webhooks, refunds, receipts and their pages."""
