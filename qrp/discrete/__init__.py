"""Layer 2: ERC as bits (problem, exports), the refinement loop and the discrete solvers. Imports qrp.core,
qrp.classical and qrp.quantum."""
