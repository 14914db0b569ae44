"""Layer 1: QAOA machinery for any diagonal cost Hamiltonian (state vector, circuits, resources). Knows nothing about
ERC; imports only qrp.core."""
