"""The cart, its checks, orders and the cart pages."""
