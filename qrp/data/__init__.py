"""Layer 1: data in: bundled datasets, CSV and returns loaders, covariance estimators, synthetic covariances.
Imports only qrp.core. The bundled example covariance (example_cov.csv) lives in this folder."""
