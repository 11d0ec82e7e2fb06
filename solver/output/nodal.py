"""Face (cell-centred) values to mesh nodes for maps and UGRID node variables."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class NodeAverager:
    """Area-weighted average of the *wet* faces around each node.

    For node n with surrounding faces F(n), face areas A_f and wet flags w_f ∈ {0, 1}:

        q_n = Σ_{f∈F(n)} A_f w_f q_f / Σ_{f∈F(n)} A_f w_f

    A node with no wet face around it is *dry*: its value is NaN (the writers store the fill value
    for elevations and 0 for velocities). The (n_node, n_face) sparse operator is built once.
    """

    def __init__(self, mesh):
        f = mesh.face_node_connectivity
        nf = mesh.n_face
        rows = f.ravel()
        cols = np.repeat(np.arange(nf), 3)
        data = np.repeat(np.asarray(mesh.face_area, dtype=np.float64), 3)
        self.matrix = sp.csr_matrix((data, (rows, cols)), shape=(mesh.n_node, nf))
        """(n_node, n_face) face-area weights A_f for each node's faces."""

    def weights(self, wet: np.ndarray) -> np.ndarray:
        """(n_node,) Σ A_f w_f: the wet area around each node (m²); 0 at dry nodes."""
        return self.matrix @ np.asarray(wet, dtype=np.float64)

    def __call__(self, wet: np.ndarray, *face_values: np.ndarray):
        """Node averages of each (n_face,) array over wet faces.

        Returns ``(node_wet, averages)``: (n_node,) bool and a list of (n_node,) float64 arrays,
        NaN at dry nodes.
        """
        w = np.asarray(wet, dtype=np.float64)
        den = self.matrix @ w
        node_wet = den > 0
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=node_wet)
        out = []
        for q in face_values:
            num = self.matrix @ np.where(w > 0, q, 0.0)
            out.append(np.where(node_wet, num * inv, np.nan))
        return node_wet, out
