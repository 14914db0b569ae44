"""Layer 1: data in: bundled datasets, CSV and returns loaders, covariance estimators, synthetic covariances.
Imports only qrp.core. The bundled example covariance (example_cov.csv) lives in this folder."""

#: the covariance estimators by name (``qrp.data.covariance.estimate_covariance``); here, without pandas, so that
#: the command line's help lists them
ESTIMATORS = ("sample", "ledoit_wolf", "ewma", "garch", "dcc", "pca")
