"""Layer 1: the continuous ERC solvers (coordinate descent, Newton, auto, SLSQP, bounded). Imports only qrp.core."""
