"""The standard plugins of helpdesk_core: storages, notifiers and channels."""
