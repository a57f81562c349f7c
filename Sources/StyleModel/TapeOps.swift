import COpenBLAS

/// Embedding, matrix products, residual adds and scaling.
extension Tape {
    /// Rows of `table` [V, D] picked by `ids`: [ids.count, D]. Every id must be in 0..<V.
    public func embedding(_ table: Tensor, ids: [Int32]) -> Tensor {
        precondition(table.shape.count == 2, "embedding table must be [V, D], got \(table.shape)")
        let (v, d) = (table.shape[0], table.shape[1])
        precondition(ids.allSatisfy { $0 >= 0 && Int($0) < v }, "token ids must be in 0..<\(v)")
        var out = [Float](repeating: 0, count: ids.count * d)
        table.value.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                for (row, id) in ids.enumerated() {
                    let src = t.baseAddress! + Int(id) * d
                    (o.baseAddress! + row * d).update(from: src, count: d)
                }
            }
        }
        let result = Tensor(shape: [ids.count, d], value: out)
        record(result, inputs: [table]) {
            guard table.isTracked, !result.grad.isEmpty else { return }
            result.grad.withUnsafeBufferPointer { g in
                table.withGrad { tg in
                    for (row, id) in ids.enumerated() {
                        let dst = tg.baseAddress! + Int(id) * d, src = g.baseAddress! + row * d
                        for j in 0..<d { dst[j] += src[j] }
                    }
                }
            }
        }
        return result
    }

    /// Rows `rows` of x [N, D], in that order: [rows.count, D]. The backward pass adds each
    /// picked row's gradient back into its source row. Training computes the output head
    /// only at the positions its loss reads (an answer's tokens, not the prompt's).
    public func gatherRows(_ x: Tensor, rows: [Int]) -> Tensor {
        let n = x.rows, d = x.columns
        precondition(rows.allSatisfy { (0..<n).contains($0) }, "gatherRows: rows must be in 0..<\(n)")
        var out = [Float](repeating: 0, count: rows.count * d)
        x.value.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                for (i, r) in rows.enumerated() { (o.baseAddress! + i * d).update(from: px.baseAddress! + r * d, count: d) }
            }
        }
        let result = Tensor(shape: [rows.count, d], value: out)
        record(result, inputs: [x]) {
            guard !result.grad.isEmpty else { return }
            result.grad.withUnsafeBufferPointer { g in
                x.withGrad { gx in
                    for (i, r) in rows.enumerated() {
                        let dst = gx.baseAddress! + r * d, src = g.baseAddress! + i * d
                        for j in 0..<d { dst[j] += src[j] }
                    }
                }
            }
        }
        return result
    }

    /// x [N, K] · wᵀ with w [M, K]: [N, M].
    public func matmul(_ x: Tensor, _ w: Tensor) -> Tensor {
        linear(x, w, lora: nil)
    }

    /// x·wᵀ + scale·(x·aᵀ)·bᵀ: a projection with an optional low-rank adapter, x [N, in],
    /// w [out, in], a [rank, in], b [out, rank]. A frozen w costs no weight gradient.
    public func linear(_ x: Tensor, _ w: Tensor, lora: (a: Tensor, b: Tensor, scale: Float)?) -> Tensor {
        let n = x.rows, k = x.columns
        precondition(w.shape.count == 2 && w.shape[1] == k, "linear: x is \(x.shape) but weight is \(w.shape) (need [out, \(k)])")
        let m = w.shape[0]
        var rank = 0
        if let lora {
            rank = lora.a.shape[0]
            precondition(lora.a.shape == [rank, k] && lora.b.shape == [m, rank],
                         "LoRA shapes A \(lora.a.shape), B \(lora.b.shape) do not fit weight \(w.shape)")
        }
        var out = [Float](repeating: 0, count: n * m)
        // u = x·aᵀ [N, rank], kept for the backward pass.
        var u = [Float](repeating: 0, count: n * rank)
        timed("linear") {
            x.value.withUnsafeBufferPointer { px in
                w.value.withUnsafeBufferPointer { pw in
                    out.withUnsafeMutableBufferPointer { po in
                        gemm(transB: true, m: n, n: m, k: k, px.baseAddress!, lda: k, pw.baseAddress!, ldb: k, beta: 0, po.baseAddress!, ldc: m)
                        guard let lora else { return }
                        lora.a.value.withUnsafeBufferPointer { pa in
                            lora.b.value.withUnsafeBufferPointer { pb in
                                u.withUnsafeMutableBufferPointer { pu in
                                    gemm(transB: true, m: n, n: rank, k: k, px.baseAddress!, lda: k, pa.baseAddress!, ldb: k, beta: 0, pu.baseAddress!, ldc: rank)
                                    gemm(transB: true, m: n, n: m, k: rank, alpha: lora.scale, pu.baseAddress!, lda: rank, pb.baseAddress!, ldb: rank, beta: 1, po.baseAddress!, ldc: m)
                                }
                            }
                        }
                    }
                }
            }
        }
        let result = Tensor(shape: Array(x.shape.dropLast()) + [m], value: out)
        let inputs = lora.map { [x, w, $0.a, $0.b] } ?? [x, w]
        record(result, inputs: inputs) { [unowned self] in
            guard !result.grad.isEmpty else { return }
            self.timed("linear.backward") {
                result.grad.withUnsafeBufferPointer { pg in
                    let dy = pg.baseAddress!
                    x.value.withUnsafeBufferPointer { px in
                        w.value.withUnsafeBufferPointer { pw in
                            if w.isTracked {   // dW += dyᵀ·x
                                w.withGrad { gw in
                                    self.gemm(transA: true, m: m, n: k, k: n, dy, lda: m, px.baseAddress!, ldb: k, beta: 1, gw.baseAddress!, ldc: k)
                                }
                            }
                            if x.isTracked {   // dx += dy·W
                                x.withGrad { gx in
                                    self.gemm(m: n, n: k, k: m, dy, lda: m, pw.baseAddress!, ldb: k, beta: 1, gx.baseAddress!, ldc: k)
                                }
                            }
                            guard let lora, lora.a.isTracked || lora.b.isTracked || x.isTracked else { return }
                            lora.a.value.withUnsafeBufferPointer { pa in
                                lora.b.value.withUnsafeBufferPointer { pb in
                                    u.withUnsafeBufferPointer { pu in
                                        if lora.b.isTracked {   // dB += scale·dyᵀ·u
                                            lora.b.withGrad { gb in
                                                self.gemm(transA: true, m: m, n: rank, k: n, alpha: lora.scale, dy, lda: m, pu.baseAddress!, ldb: rank, beta: 1, gb.baseAddress!, ldc: rank)
                                            }
                                        }
                                        guard lora.a.isTracked || x.isTracked else { return }
                                        // du = scale·dy·B [N, rank]
                                        var du = [Float](repeating: 0, count: n * rank)
                                        du.withUnsafeMutableBufferPointer { pdu in
                                            self.gemm(m: n, n: rank, k: m, alpha: lora.scale, dy, lda: m, pb.baseAddress!, ldb: rank, beta: 0, pdu.baseAddress!, ldc: rank)
                                            if lora.a.isTracked {   // dA += duᵀ·x
                                                lora.a.withGrad { ga in
                                                    self.gemm(transA: true, m: rank, n: k, k: n, pdu.baseAddress!, lda: rank, px.baseAddress!, ldb: k, beta: 1, ga.baseAddress!, ldc: k)
                                                }
                                            }
                                            if x.isTracked {   // dx += du·A
                                                x.withGrad { gx in
                                                    self.gemm(m: n, n: k, k: rank, pdu.baseAddress!, lda: rank, pa.baseAddress!, ldb: k, beta: 1, gx.baseAddress!, ldc: k)
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

    /// a + b, same shape.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        var out = a.value
        out.withUnsafeMutableBufferPointer { o in
            b.value.withUnsafeBufferPointer { pb in
                for i in o.indices { o[i] += pb[i] }
            }
        }
        let result = Tensor(shape: a.shape, value: out)
        record(result, inputs: [a, b]) {
            guard !result.grad.isEmpty else { return }
            for t in [a, b] where t.isTracked {
                result.grad.withUnsafeBufferPointer { g in
                    t.withGrad { tg in for i in tg.indices { tg[i] += g[i] } }
                }
            }
        }
        return result
    }

    /// s·a.
    public func scaled(_ a: Tensor, by s: Float) -> Tensor {
        var out = a.value
        out.withUnsafeMutableBufferPointer { o in for i in o.indices { o[i] *= s } }
        let result = Tensor(shape: a.shape, value: out)
        record(result, inputs: [a]) {
            guard !result.grad.isEmpty else { return }
            result.grad.withUnsafeBufferPointer { g in
                a.withGrad { ag in for i in ag.indices { ag[i] += s * g[i] } }
            }
        }
        return result
    }
}
