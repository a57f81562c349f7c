import COpenBLAS
import Dispatch
import LookbookCore
import StyleModel

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

    /// `op(a) · op(b)` with `cblas_sgemm`; `transposeA`/`transposeB` select op. On one
    /// OpenBLAS thread always: a StyleLM scoring on another thread sets the process's
    /// count to one meanwhile (`BLASThreads`), and products that ran on two threads
    /// differ in the last bits, which PPMI-SVD's version promises they do not.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        BLASThreads.single { unpinnedProduct(a, b, transposeA: transposeA, transposeB: transposeB) }
    }

    private static func unpinnedProduct(_ a: Matrix, _ b: Matrix, transposeA: Bool, transposeB: Bool) -> Matrix {
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

    /// The transpose, as a new row-major matrix.
    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for r in 0..<rows { for c in 0..<cols { t.values[c * rows + r] = values[r * cols + c] } }
        return t
    }

    /// Makes the columns orthonormal in place, spanning what they spanned: SVQB
    /// (Stathopoulos & Wu 2002), twice. The Gram matrix `XᵀX` (one sgemm) is
    /// eigen-decomposed in Double and `X ← X·W·Λ^-1/2`; directions whose eigenvalue is
    /// (numerically) zero become zero columns, so a rank-deficient panel is fine.
    /// For tall panels (rows ≫ cols): the cost is two sgemms and a cols × cols eigenproblem.
    public mutating func orthonormalizeColumns() {
        let l = cols
        guard rows > 0, l > 0 else { return }
        for _ in 0..<2 {
            let gram = Matrix.product(self, self, transposeA: true)
            let eig = symmetricEigen(gram.values.map(Double.init), n: l)
            let largest = max(eig.values.first ?? 0, 0)
            var m = Matrix(rows: l, cols: l)
            for j in 0..<l {
                let lambda = eig.values[j]
                let scale = largest > 0 && lambda > largest * 1e-12 ? 1 / lambda.squareRoot() : 0
                for i in 0..<l { m[i, j] = Float(eig.vectors[i * l + j] * scale) }
            }
            self = Matrix.product(self, m)
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

/// A matrix the randomized SVD reads only through products with tall dense panels.
public protocol LinearOperator: Sendable {
    var rows: Int { get }
    var cols: Int { get }
    /// `A·X` for X of shape cols × l: rows × l.
    func times(_ x: Matrix) -> Matrix
    /// `Aᵀ·Y` for Y of shape rows × l: cols × l.
    func transposeTimes(_ y: Matrix) -> Matrix
}

extension Matrix: LinearOperator {
    public func times(_ x: Matrix) -> Matrix { Matrix.product(self, x) }
    public func transposeTimes(_ y: Matrix) -> Matrix { Matrix.product(self, y, transposeA: true) }
}

/// A sparse Float matrix in compressed rows (CSR), with its transpose kept in the same
/// form so that both products stream rows. Products with dense panels run on all cores;
/// each output row is summed by one thread in stored order, so results never depend on
/// the thread count.
public struct SparseMatrix: LinearOperator {
    public let rows: Int
    public let cols: Int
    let rowStart: [Int]
    let columns: [Int32]
    let values: [Float]
    /// The transpose, CSR.
    let tRowStart: [Int]
    let tColumns: [Int32]
    let tValues: [Float]

    /// `entries` sorted by (row, column), no duplicates.
    public init(rows: Int, cols: Int, entries: [(row: Int32, col: Int32, value: Float)]) {
        self.rows = rows; self.cols = cols
        var start = [Int](repeating: 0, count: rows + 1)
        var tStart = [Int](repeating: 0, count: cols + 1)
        for e in entries { start[Int(e.row) + 1] += 1; tStart[Int(e.col) + 1] += 1 }
        for r in 0..<rows { start[r + 1] += start[r] }
        for c in 0..<cols { tStart[c + 1] += tStart[c] }
        columns = entries.map(\.col)
        values = entries.map(\.value)
        // Counting sort into the transpose keeps each transposed row in row order.
        var next = tStart
        var tc = [Int32](repeating: 0, count: entries.count), tv = [Float](repeating: 0, count: entries.count)
        for e in entries {
            let at = next[Int(e.col)]
            tc[at] = e.row; tv[at] = e.value
            next[Int(e.col)] += 1
        }
        rowStart = start; tRowStart = tStart; tColumns = tc; tValues = tv
    }

    public var nonZeros: Int { values.count }

    public func times(_ x: Matrix) -> Matrix {
        precondition(x.rows == cols, "A·X needs X with \(cols) rows, got \(x.rows)")
        return Self.multiply(start: rowStart, columns: columns, values: values, outRows: rows, x)
    }

    public func transposeTimes(_ y: Matrix) -> Matrix {
        precondition(y.rows == rows, "Aᵀ·Y needs Y with \(rows) rows, got \(y.rows)")
        return Self.multiply(start: tRowStart, columns: tColumns, values: tValues, outRows: cols, y)
    }

    /// out[r, :] = Σ_(r, c, v) v · x[c, :], rows in chunks over all cores.
    static func multiply(start: [Int], columns: [Int32], values: [Float], outRows: Int, _ x: Matrix) -> Matrix {
        let l = x.cols
        var out = Matrix(rows: outRows, cols: l)
        guard outRows > 0, l > 0 else { return out }
        let chunk = 256
        let chunks = (outRows + chunk - 1) / chunk
        out.values.withUnsafeMutableBufferPointer { o in
            start.withUnsafeBufferPointer { s in
                columns.withUnsafeBufferPointer { c in
                    values.withUnsafeBufferPointer { v in
                        x.values.withUnsafeBufferPointer { xv in
                            // Each chunk writes its own rows of `o` and only reads the rest.
                            nonisolated(unsafe) let (o, s, c, v, xv) = (o, s, c, v, xv)
                            DispatchQueue.concurrentPerform(iterations: chunks) { n in
                                for r in (n * chunk)..<min(outRows, (n + 1) * chunk) {
                                    let row = o.baseAddress! + r * l
                                    for e in s[r]..<s[r + 1] {
                                        let a = v[e]
                                        let src = xv.baseAddress! + Int(c[e]) * l
                                        for d in 0..<l { row[d] += a * src[d] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Truncated SVD `A ≈ U·diag(S)·Vᵀ` by randomized subspace iteration (Halko, Martinsson
/// & Tropp 2011, algorithms 4.3/4.4: range finder with power iterations, the panel
/// re-orthonormalised after every product). `A` is read only through products with
/// tall panels (`LinearOperator`): a sparse matrix costs O(nonzeros · l) per product,
/// and the dense small products (Gram matrices, rotations) go through sgemm.
///
/// Returned as `ut` (k × rows of A) and `vt` (k × cols of A): row i of each is the i-th
/// left / right singular vector, singular values descending. The same matrix, settings
/// and seed give the same bits.
public struct TruncatedSVD: Sendable {
    public var ut: Matrix
    public var s: [Float]
    public var vt: Matrix

    public init<A: LinearOperator>(_ a: A, rank: Int, oversample: Int = 16, powerIterations: Int = 3, seed: UInt64 = 0) {
        let l = max(1, min(rank + oversample, min(a.rows, a.cols)))
        let k = max(0, min(rank, l, min(a.rows, a.cols)))
        var rng = SplitMix64.stream(seed, "svd")
        // Ω (cols × l), drawn column by column of Ωᵀ: the draws of the dense version.
        var omega = Matrix(rows: a.cols, cols: l)
        for i in 0..<l { for c in 0..<a.cols { omega[c, i] = Float(rng.gaussian()) } }
        var q = a.times(omega)                         // rows × l spans the range of A
        q.orthonormalizeColumns()
        for _ in 0..<powerIterations {
            var z = a.transposeTimes(q)                // cols × l
            z.orthonormalizeColumns()
            q = a.times(z)
            q.orthonormalizeColumns()
        }
        let bt = a.transposeTimes(q)                   // Bᵀ = (Qᵀ A)ᵀ, cols × l
        let bbt = Matrix.product(bt, bt, transposeA: true)  // B Bᵀ, l × l
        let eig = symmetricEigen(bbt.values.map(Double.init), n: l)
        // W (l × k, the top eigenvectors); U = Q W, V = Bᵀ W / σ.
        var w = Matrix(rows: l, cols: k)
        var sigma = [Float](repeating: 0, count: k)
        for j in 0..<k {
            sigma[j] = Float(max(eig.values[j], 0).squareRoot())
            for i in 0..<l { w[i, j] = Float(eig.vectors[i * l + j]) }
        }
        let u = Matrix.product(q, w)
        var v = Matrix.product(bt, w)
        for j in 0..<k {
            let inv: Float = sigma[j] > 1e-12 ? 1 / sigma[j] : 0
            for r in 0..<v.rows { v[r, j] *= inv }
        }
        ut = u.transposed()
        vt = v.transposed()
        s = sigma
    }
}
