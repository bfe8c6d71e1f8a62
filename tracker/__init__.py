"""Logistics exception and courier-claims tracker for Taobao/Tmall warehouses."""
