import LookbookCore
import Testing
@testable import Evaluation

@Suite struct LinearAlgebraTests {
    /// Jacobi against a matrix built from known eigenpairs (an independent check).
    @Test func jacobiRecoversKnownEigenvalues() {
        // Q = rotation by 30° in the (0,1) plane; A = Q diag(5, 2, -1) Qᵀ.
        let c = 0.8660254037844387, s = 0.5
        let q = [c, -s, 0, s, c, 0, 0, 0, 1.0]
        let d = [5.0, 2, -1]
        var a = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { a[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k] } } }
        let e = symmetricEigen(a, n: 3)
        #expect(zip(e.values, [5.0, 2, -1]).allSatisfy { abs($0 - $1) < 1e-10 })
        // First eigenvector ∥ first column of Q (up to sign).
        let dot = e.vectors[0] * q[0] + e.vectors[3] * q[3] + e.vectors[6] * q[6]
        #expect(abs(abs(dot) - 1) < 1e-10)
    }

    /// A rank-3 matrix: the randomized SVD finds its singular values and reconstructs it.
    @Test func randomizedSVDOfALowRankMatrix() {
        let n = 40, m = 30
        var rng = SplitMix64(seed: 11)
        let u = Matrix(rows: n, cols: 3, values: (0..<(n * 3)).map { _ in Float(rng.gaussian()) })
        let v = Matrix(rows: 3, cols: m, values: (0..<(3 * m)).map { _ in Float(rng.gaussian()) })
        let a = Matrix.product(u, v)
        let svd = TruncatedSVD(a, rank: 3, oversample: 5, powerIterations: 2, seed: 1)
        // Reconstruct Σ u_i s_i v_iᵀ and compare.
        var worst: Float = 0, scale: Float = 0
        for i in 0..<n {
            for j in 0..<m {
                var x: Float = 0
                for k in 0..<3 { x += svd.ut[k, i] * svd.s[k] * svd.vt[k, j] }
                worst = max(worst, abs(x - a[i, j])); scale = max(scale, abs(a[i, j]))
            }
        }
        #expect(worst / scale < 1e-3)
        #expect(svd.s[0] >= svd.s[1] && svd.s[1] >= svd.s[2] && svd.s[2] > 0)
        // Frobenius norm² = Σ s².
        let frob = a.values.reduce(0) { $0 + $1 * $1 }
        #expect(abs(svd.s.reduce(0) { $0 + $1 * $1 } / frob - 1) < 1e-3)
    }

    @Test func sgemmTransposes() {
        let a = Matrix(rows: 2, cols: 3, values: [1, 2, 3, 4, 5, 6])
        #expect(Matrix.product(a, a, transposeB: true).values == [14, 32, 32, 77])
        #expect(Matrix.product(a, a, transposeA: true).values == [17, 22, 27, 22, 29, 36, 27, 36, 45])
    }
}
