"""The fault and load suite behind ``bench/faults.py``: each scenario starts real services, injects its
faults, reads the data back and returns :class:`~faultsuite.report.Row` figures (what was tried, what held,
what was lost, and how it was checked)."""
