"""Layer 3: experiments: study definitions, the runner, the results table, tracking and reports. Never imports
qrp.finance."""
