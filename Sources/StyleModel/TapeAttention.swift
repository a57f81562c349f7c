#if canImport(Glibc)
import Glibc
#endif

extension Tape {
    /// Causal multi-head self-attention over padded sequences: softmax(q·kᵀ/√hd)·v per
    /// (sequence, head), where query i sees keys j ≤ i with j < lengths[b]. Rows at padded
    /// positions (i ≥ lengths[b]) are zero. q, k, v and the result are
    /// [batch·seq, heads·hd]; each head is a strided sub-matrix handed to sgemm as is.
    ///
    /// `hiddenKeys[b]`, when set, also hides keys in that range from queries i ≥ its
    /// upper bound (probability 0), so a segment packed after another in one row attends
    /// as if the other were not there (see `TokenBatch`). The scores are still computed
    /// for the whole l×l block; only the softmax skips them.
    public func causalAttention(q: Tensor, k: Tensor, v: Tensor, batch: Int, seq: Int, heads: Int, lengths: [Int],
                                hiddenKeys: [Range<Int>?]? = nil) -> Tensor {
        let width = q.columns
        precondition(q !== k && q !== v && k !== v, "attention: q, k and v must be distinct tensors (project them separately)")
        precondition(q.shape == k.shape && q.shape == v.shape, "attention: q \(q.shape), k \(k.shape), v \(v.shape) differ")
        precondition(q.rows == batch * seq, "attention: \(q.rows) rows for batch \(batch) × seq \(seq)")
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not a multiple of \(heads) heads")
        precondition(lengths.count == batch && lengths.allSatisfy { (0...seq).contains($0) }, "attention: lengths must be \(batch) values in 0...\(seq)")
        let hidden = hiddenKeys ?? [Range<Int>?](repeating: nil, count: batch)
        precondition(hidden.count == batch && zip(hidden, lengths).allSatisfy { r, l in r.map { $0.lowerBound >= 0 && $0.upperBound <= l } ?? true },
                     "attention: hiddenKeys must be \(batch) ranges, each within its row's length")
        let hd = width / heads
        let scale = 1 / Float(hd).squareRoot()
        // Softmax probabilities per (b, h): an L×L block at offset blocks[b] + h·L².
        var offsets = [Int](repeating: 0, count: batch)
        var total = 0
        for b in 0..<batch { offsets[b] = total; total += heads * lengths[b] * lengths[b] }
        var probabilities = [Float](repeating: 0, count: total)
        var out = [Float](repeating: 0, count: q.count)
        timed("attention") {
            q.value.withUnsafeBufferPointer { pq in
                k.value.withUnsafeBufferPointer { pk in
                    v.value.withUnsafeBufferPointer { pv in
                        probabilities.withUnsafeMutableBufferPointer { pp in
                            out.withUnsafeMutableBufferPointer { po in
                                for b in 0..<batch {
                                    let l = lengths[b]
                                    guard l > 0 else { continue }
                                    for h in 0..<heads {
                                        let base = b * seq * width + h * hd
                                        let p = pp.baseAddress! + offsets[b] + h * l * l
                                        gemm(transB: true, m: l, n: l, k: hd, alpha: scale, pq.baseAddress! + base, lda: width,
                                             pk.baseAddress! + base, ldb: width, beta: 0, p, ldc: l)
                                        Self.causalSoftmax(p, size: l, hiding: hidden[b])
                                        gemm(m: l, n: hd, k: l, p, lda: l, pv.baseAddress! + base, ldb: width, beta: 0, po.baseAddress! + base, ldc: width)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let result = Tensor(shape: q.shape, value: out)
        record(result, inputs: [q, k, v]) { [unowned self] in
            guard !result.grad.isEmpty else { return }
            self.timed("attention.backward") {
                let maxL = lengths.max() ?? 0
                var scratch = [Float](repeating: 0, count: maxL * maxL)
                let needQ = q.isTracked, needK = k.isTracked, needV = v.isTracked
                result.grad.withUnsafeBufferPointer { pdo in
                  q.value.withUnsafeBufferPointer { pq in
                    k.value.withUnsafeBufferPointer { pk in
                      v.value.withUnsafeBufferPointer { pv in
                        probabilities.withUnsafeBufferPointer { pp in
                          scratch.withUnsafeMutableBufferPointer { ps in
                            gradOrNil(q, needQ) { gq in
                              gradOrNil(k, needK) { gk in
                                gradOrNil(v, needV) { gv in
                                  for b in 0..<batch {
                                    let l = lengths[b]
                                    guard l > 0 else { continue }
                                    for h in 0..<heads {
                                        let base = b * seq * width + h * hd
                                        let p = pp.baseAddress! + offsets[b] + h * l * l
                                        let dO = pdo.baseAddress! + base
                                        if let gv {   // dV += Pᵀ·dO
                                            self.gemm(transA: true, m: l, n: hd, k: l, p, lda: l, dO, ldb: width, beta: 1, gv + base, ldc: width)
                                        }
                                        guard gq != nil || gk != nil else { continue }
                                        // dP = dO·Vᵀ, then dS = P∘(dP − rowsum(P∘dP)), in place. Hidden
                                        // keys need nothing more: P is exactly 0 there, so is dS.
                                        let ds = ps.baseAddress!
                                        self.gemm(transB: true, m: l, n: l, k: hd, dO, lda: width, pv.baseAddress! + base, ldb: width, beta: 0, ds, ldc: l)
                                        for i in 0..<l {
                                            let pr = p + i * l, dr = ds + i * l
                                            var dot: Float = 0
                                            for j in 0...i { dot += pr[j] * dr[j] }
                                            for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                                            for j in (i + 1)..<l { dr[j] = 0 }
                                        }
                                        if let gq {   // dQ += scale·dS·K
                                            self.gemm(m: l, n: hd, k: l, alpha: scale, ds, lda: l, pk.baseAddress! + base, ldb: width, beta: 1, gq + base, ldc: width)
                                        }
                                        if let gk {   // dK += scale·dSᵀ·Q
                                            self.gemm(transA: true, m: l, n: hd, k: l, alpha: scale, ds, lda: l, pq.baseAddress! + base, ldb: width, beta: 1, gk + base, ldc: width)
                                        }
                                    }
                                  }
                                }
                              }
                            }
                          }
                        }
                      }
                    }
                  }
                }
            }
        }
        return result
    }

    /// Row-wise softmax of an l×l block in place, keeping j ≤ i and zeroing j > i; rows
    /// i ≥ `hidden.upperBound` also zero the keys in `hidden`. Every row keeps at least
    /// its own key (i is never hidden from itself).
    static func causalSoftmax(_ p: UnsafeMutablePointer<Float>, size l: Int, hiding hidden: Range<Int>? = nil) {
        for i in 0..<l {
            let row = p + i * l
            let hide = hidden.flatMap { i >= $0.upperBound ? $0 : nil } ?? 0..<0
            var top = -Float.infinity
            for j in 0...i where !hide.contains(j) { top = max(top, row[j]) }
            var sum: Float = 0
            for j in 0...i where !hide.contains(j) { let e = expf(row[j] - top); row[j] = e; sum += e }
            let inv = 1 / sum
            for j in 0...i where !hide.contains(j) { row[j] *= inv }
            for j in hide { row[j] = 0 }
            for j in (i + 1)..<l { row[j] = 0 }
        }
    }
}
