"""The inference library every stage uses: base models (resolve, import, cache), QLoRA's NF4
base and a run's model as trained (the QLoRA round trip), loading for inference, device and
precision from the hardware, chat templates and tokenisation, greedy generation, label scoring
and answer parsing. It imports no stage, only config and store.
"""
