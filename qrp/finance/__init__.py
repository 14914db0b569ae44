"""Layer 3: portfolios from returns: strategies, factor risk parity, execution files, backtests. Never imports
qrp.studies."""
