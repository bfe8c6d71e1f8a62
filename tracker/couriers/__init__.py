"""Couriers: name/slug resolution and waybill detection (here); per-provider clients and parsers."""
