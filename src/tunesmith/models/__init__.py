"""The inference library every stage uses: base models (resolve, import, cache), a run's model
as trained (QLoRA round trip), loading for inference, device and precision from the hardware,
chat templates and tokenisation, greedy generation, label scoring and answer parsing. It imports
no stage, only config and store.
"""
