"""The retraining loop: triggers from the monitor's reports and the reviews, then feedback,
curate, train, evaluate, compare, register and promote as one resumable cycle under the gates."""
