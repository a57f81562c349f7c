import LookbookCore
import COpenBLAS

/// A dense row-major Float matrix, the shape OpenBLAS is called with.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]? = nil) {
        precondition(values == nil || values!.count == rows * cols, "values must be rows × cols")
        self.rows = rows; self.cols = cols
        self.values = values ?? [Float](repeating: 0, count: rows * cols)
    }

    @inlinable public subscript(r: Int, c: Int) -> Float {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }

    /// `op(a) · op(b)` with `cblas_sgemm`; `transposeA`/`transposeB` select op.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "inner dimensions differ: \(k) vs \(kb)")
        var c = Matrix(rows: m, cols: n)
        guard m > 0, n > 0, k > 0 else { return c }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1, pa.baseAddress, Int32(a.cols),
                                pb.baseAddress, Int32(b.cols), 0, pc.baseAddress, Int32(n))
                }
            }
        }
        return c
    }

    /// Orthonormalises the rows in place (modified Gram–Schmidt, twice for stability,
    /// Double accumulation). A row that becomes (numerically) zero is left zero.
    public mutating func orthonormalizeRows() {
        for _ in 0..<2 {
            for i in 0..<rows {
                for j in 0..<i {
                    var dot = 0.0
                    for c in 0..<cols { dot += Double(values[i * cols + c]) * Double(values[j * cols + c]) }
                    let d = Float(dot)
                    for c in 0..<cols { values[i * cols + c] -= d * values[j * cols + c] }
                }
                var norm = 0.0
                for c in 0..<cols { norm += Double(values[i * cols + c]) * Double(values[i * cols + c]) }
                let inv: Float = norm > 1e-20 ? Float(1 / norm.squareRoot()) : 0
                for c in 0..<cols { values[i * cols + c] *= inv }
            }
        }
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations:
/// simple, accurate, fine up to a few hundred rows. Returns eigenvalues in
/// descending order and the matching eigenvectors as the *columns* of `vectors`
/// (n × n, row-major).
public func symmetricEigen(_ a: [Double], n: Int, maxSweeps: Int = 60) -> (values: [Double], vectors: [Double]) {
    precondition(a.count == n * n, "a must be n × n")
    var m = a
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    for _ in 0..<maxSweeps {
        var off = 0.0, diag = 0.0
        for i in 0..<n {
            diag += m[i * n + i] * m[i * n + i]
            for j in (i + 1)..<max(i + 1, n) { off += m[i * n + j] * m[i * n + j] }
        }
        if off <= 1e-22 * max(diag, 1e-300) { break }
        for p in 0..<n {
            for q in (p + 1)..<max(p + 1, n) {
                let apq = m[p * n + q]
                if abs(apq) < 1e-300 { continue }
                let app = m[p * n + p], aqq = m[q * n + q]
                let theta = (aqq - app) / (2 * apq)
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let mkp = m[k * n + p], mkq = m[k * n + q]
                    m[k * n + p] = c * mkp - s * mkq
                    m[k * n + q] = s * mkp + c * mkq
                }
                for k in 0..<n {
                    let mpk = m[p * n + k], mqk = m[q * n + k]
                    m[p * n + k] = c * mpk - s * mqk
                    m[q * n + k] = s * mpk + c * mqk
                }
                for k in 0..<n {
                    let vkp = v[k * n + p], vkq = v[k * n + q]
                    v[k * n + p] = c * vkp - s * vkq
                    v[k * n + q] = s * vkp + c * vkq
                }
            }
        }
    }
    let order = (0..<n).sorted { m[$0 * n + $0] > m[$1 * n + $1] }
    var values = [Double](repeating: 0, count: n)
    var vectors = [Double](repeating: 0, count: n * n)
    for (newCol, oldCol) in order.enumerated() {
        values[newCol] = m[oldCol * n + oldCol]
        for r in 0..<n { vectors[r * n + newCol] = v[r * n + oldCol] }
    }
    return (values, vectors)
}

/// Truncated SVD `A ≈ U·diag(S)·Vᵀ` by randomized range finding (Halko, Martinsson &
/// Tropp 2011, algorithm 4.4 with power iterations), the large products on OpenBLAS.
///
/// Returned as `ut` (k × rows of A) and `vt` (k × cols of A): row i of each is the i-th
/// left / right singular vector, singular values descending.
public struct TruncatedSVD: Sendable {
    public var ut: Matrix
    public var s: [Float]
    public var vt: Matrix

    public init(_ a: Matrix, rank: Int, oversample: Int = 16, powerIterations: Int = 3, seed: UInt64 = 0) {
        let l = max(1, min(rank + oversample, min(a.rows, a.cols)))
        let k = min(rank, l)
        var rng = SplitMix64.stream(seed, "svd")
        var omega = Matrix(rows: l, cols: a.cols)
        for i in omega.values.indices { omega.values[i] = Float(rng.gaussian()) }
        // Qᵀ rows span the range of A: Yᵀ = Ωᵀ·Aᵀ.
        var qt = Matrix.product(omega, a, transposeB: true)
        qt.orthonormalizeRows()
        for _ in 0..<powerIterations {
            var zt = Matrix.product(qt, a)            // (Aᵀ Q)ᵀ = Qᵀ A
            zt.orthonormalizeRows()
            qt = Matrix.product(zt, a, transposeB: true)  // (A Z)ᵀ = Zᵀ Aᵀ
            qt.orthonormalizeRows()
        }
        let b = Matrix.product(qt, a)                 // l × cols
        let bbt = Matrix.product(b, b, transposeB: true)  // l × l
        let eig = symmetricEigen(bbt.values.map(Double.init), n: l)
        // W (l × l, eigenvectors in columns); Uᵀ = Wᵀ Qᵀ, Vᵀ_i = (Wᵀ B)_i / σ_i.
        var wt = Matrix(rows: k, cols: l)
        var sigma = [Float](repeating: 0, count: k)
        for i in 0..<k {
            sigma[i] = Float(max(eig.values[i], 0).squareRoot())
            for j in 0..<l { wt[i, j] = Float(eig.vectors[j * l + i]) }
        }
        ut = Matrix.product(wt, qt)
        var v = Matrix.product(wt, b)
        for i in 0..<k {
            let inv: Float = sigma[i] > 1e-12 ? 1 / sigma[i] : 0
            for c in 0..<v.cols { v[i, c] *= inv }
        }
        vt = v
        s = sigma
    }
}
