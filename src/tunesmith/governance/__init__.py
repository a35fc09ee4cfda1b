"""Governance: readers on top of the state layer. The technical documentation a regulator asks
for (model card, Annex IV, data sheet), cross-checks between the records behind it, lineage and
erasure lookups. The audit log itself lives in `store.audit`.
"""
