#if canImport(Glibc)
import Glibc
#endif

/// Losses: softmax cross-entropy fused with its gradient, per-token log-probabilities,
/// and the DPO preference loss.
extension Tape {
    /// Σ_i w_i·(−log softmax(logits_i)[t_i]) / Σ_i w_i, a scalar. logits [N, V]; a row
    /// with w_i = 0 is ignored (padding). With every weight zero the loss is 0.
    public func crossEntropy(logits: Tensor, targets: [Int32], weights: [Float]) -> Tensor {
        let n = logits.rows, vocab = logits.columns
        precondition(targets.count == n && weights.count == n, "crossEntropy: \(n) rows but \(targets.count) targets and \(weights.count) weights")
        precondition(zip(targets, weights).allSatisfy { $1 == 0 || ($0 >= 0 && Int($0) < vocab) }, "crossEntropy: targets must be in 0..<\(vocab)")
        let totalWeight = weights.reduce(0, +)
        // softmax(logits_i) of the weighted rows, kept for the backward pass (one exp per logit).
        var probabilities = [Float](repeating: 0, count: logits.count)
        var loss: Double = 0
        timed("crossEntropy") {
            logits.value.withUnsafeBufferPointer { pl in
                probabilities.withUnsafeMutableBufferPointer { pp in
                    for i in 0..<n where weights[i] != 0 {
                        let row = pl.baseAddress! + i * vocab, p = pp.baseAddress! + i * vocab
                        var top = -Float.infinity
                        for j in 0..<vocab { top = max(top, row[j]) }
                        var sum: Float = 0
                        for j in 0..<vocab { let e = expf(row[j] - top); p[j] = e; sum += e }
                        let inv = 1 / sum
                        for j in 0..<vocab { p[j] *= inv }
                        let logSumExp = top + logf(sum)
                        loss += Double(weights[i]) * Double(logSumExp - row[Int(targets[i])])
                    }
                }
            }
        }
        if totalWeight != 0 { loss /= Double(totalWeight) }
        let result = Tensor(shape: [1], value: [Float(loss)])
        record(result, inputs: [logits]) { [unowned self] in
            guard !result.grad.isEmpty, totalWeight != 0 else { return }
            let upstream = result.grad[0] / totalWeight
            self.timed("crossEntropy.backward") {
                probabilities.withUnsafeBufferPointer { pp in
                    logits.withGrad { gl in
                        for i in 0..<n where weights[i] != 0 {
                            let c = upstream * weights[i]
                            let p = pp.baseAddress! + i * vocab, g = gl.baseAddress! + i * vocab
                            for j in 0..<vocab { g[j] += c * p[j] }
                            g[Int(targets[i])] -= c
                        }
                    }
                }
            }
        }
        return result
    }

    /// log softmax(logits_i)[t_i] per row: [N] (`bagLogProbs` reading each row once).
    public func tokenLogProbs(logits: Tensor, targets: [Int32]) -> Tensor {
        precondition(targets.count == logits.rows, "tokenLogProbs: \(logits.rows) rows but \(targets.count) targets")
        return bagLogProbs(logits: logits, rows: Array(0..<logits.rows), targets: targets)
    }

    /// log softmax(logits[rows[i]])[targets[i]] per read: [rows.count]. One log-sum-exp per
    /// logits row however many reads it has (a bag reads one row several times).
    public func bagLogProbs(logits: Tensor, rows: [Int], targets: [Int32]) -> Tensor {
        let n = logits.rows, vocab = logits.columns
        precondition(rows.count == targets.count, "bagLogProbs: \(rows.count) rows for \(targets.count) targets")
        precondition(rows.allSatisfy { (0..<n).contains($0) }, "bagLogProbs: rows must be in 0..<\(n)")
        precondition(targets.allSatisfy { $0 >= 0 && Int($0) < vocab }, "bagLogProbs: targets must be in 0..<\(vocab)")
        let logSumExps = Self.logSumExps(logits, weights: nil)
        let out = logits.value.withUnsafeBufferPointer { pl in
            zip(rows, targets).map { r, t in pl[r * vocab + Int(t)] - logSumExps[r] }
        }
        let result = Tensor(shape: [rows.count], value: out)
        record(result, inputs: [logits]) {
            guard !result.grad.isEmpty else { return }
            var total = [Float](repeating: 0, count: n)
            for (i, r) in rows.enumerated() { total[r] += result.grad[i] }
            logits.value.withUnsafeBufferPointer { pl in
                logits.withGrad { gl in
                    for r in 0..<n where total[r] != 0 {
                        let c = total[r], lse = logSumExps[r]
                        let row = pl.baseAddress! + r * vocab, g = gl.baseAddress! + r * vocab
                        for j in 0..<vocab { g[j] -= c * expf(row[j] - lse) }
                    }
                    for (i, r) in rows.enumerated() { gl[r * vocab + Int(targets[i])] += result.grad[i] }
                }
            }
        }
        return result
    }

    /// log Σ_j exp(row_j) per row (rows with weight 0 skipped when weights are given).
    static func logSumExps(_ logits: Tensor, weights: [Float]?) -> [Float] {
        let n = logits.rows, vocab = logits.columns
        var out = [Float](repeating: 0, count: n)
        logits.value.withUnsafeBufferPointer { pl in
            for i in 0..<n {
                if let weights, weights[i] == 0 { continue }
                let row = pl.baseAddress! + i * vocab
                var top = -Float.infinity
                for j in 0..<vocab { top = max(top, row[j]) }
                var sum: Float = 0
                for j in 0..<vocab { sum += expf(row[j] - top) }
                out[i] = top + logf(sum)
            }
        }
        return out
    }

    /// x (any shape, `count` values) seen as [rows, count/rows]: out[r] = Σ_j w[r,j]·x[r,j].
    /// A weighted reduction to a scalar or per-row values; the gradient checks project
    /// an op's output to a scalar with it. (Per-answer sums of gathered token
    /// log-probabilities, where rows have different lengths, are `groupSums`.)
    public func weightedRowSums(_ x: Tensor, weights: [Float], rows: Int) -> Tensor {
        precondition(rows > 0 && x.count % rows == 0, "weightedRowSums: \(x.count) values do not split into \(rows) rows")
        precondition(weights.count == x.count, "weightedRowSums: \(weights.count) weights for \(x.count) values")
        let width = x.count / rows
        var out = [Float](repeating: 0, count: rows)
        x.value.withUnsafeBufferPointer { px in
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<width { s += weights[r * width + j] * px[r * width + j] }
                out[r] = s
            }
        }
        let result = Tensor(shape: [rows], value: out)
        record(result, inputs: [x]) {
            guard !result.grad.isEmpty else { return }
            let g = result.grad
            x.withGrad { gx in
                for r in 0..<rows {
                    for j in 0..<width { gx[r * width + j] += weights[r * width + j] * g[r] }
                }
            }
        }
        return result
    }

    /// out[g] = Σ of x[i] over the i with groups[i] == g, for g in 0..<count; an index with
    /// group −1 is left out. Sums per-token log-probabilities into per-answer ones when
    /// the tokens of many answers sit in one vector (`weightedGroupSums` with weights 1).
    public func groupSums(_ x: Tensor, groups: [Int], count: Int) -> Tensor {
        weightedGroupSums(x, groups: groups, weights: [Float](repeating: 1, count: x.count), count: count)
    }

    /// out[g] = Σ of weights[i]·x[i] over the i with groups[i] == g, for g in 0..<count;
    /// an index with group −1 is left out.
    public func weightedGroupSums(_ x: Tensor, groups: [Int], weights: [Float], count: Int) -> Tensor {
        precondition(groups.count == x.count && weights.count == x.count,
                     "weightedGroupSums: \(groups.count) groups and \(weights.count) weights for \(x.count) values")
        precondition(groups.allSatisfy { (-1..<count).contains($0) }, "weightedGroupSums: groups must be −1 or in 0..<\(count)")
        var out = [Float](repeating: 0, count: count)
        for (i, g) in groups.enumerated() where g >= 0 { out[g] += weights[i] * x.value[i] }
        let result = Tensor(shape: [count], value: out)
        record(result, inputs: [x]) {
            guard !result.grad.isEmpty else { return }
            let upstream = result.grad
            x.withGrad { gx in
                for (i, g) in groups.enumerated() where g >= 0 { gx[i] += weights[i] * upstream[g] }
            }
        }
        return result
    }

    /// Direct Preference Optimization (Rafailov et al. 2023): the mean over pairs of
    /// −log σ(β·((πc − rc) − (πr − rr))), with π the policy's and r the frozen reference's
    /// sequence log-probabilities of the chosen (c) and rejected (r) answers. Computed as
    /// softplus(−z) so large margins neither overflow nor lose precision.
    public func dpoLoss(policyChosen: Tensor, policyRejected: Tensor, referenceChosen: [Float], referenceRejected: [Float], beta: Float) -> Tensor {
        let n = policyChosen.count
        precondition(n > 0 && policyRejected.count == n && referenceChosen.count == n && referenceRejected.count == n,
                     "dpoLoss: need the same positive number of chosen and rejected log-probabilities")
        var margins = [Float](repeating: 0, count: n)
        var loss: Double = 0
        for i in 0..<n {
            let z = beta * ((policyChosen.value[i] - referenceChosen[i]) - (policyRejected.value[i] - referenceRejected[i]))
            margins[i] = z
            loss += Double(max(-z, 0) + log1pf(expf(-abs(z))))
        }
        let result = Tensor(shape: [1], value: [Float(loss / Double(n))])
        record(result, inputs: [policyChosen, policyRejected]) {
            guard !result.grad.isEmpty else { return }
            let upstream = result.grad[0] / Float(n)
            for i in 0..<n {
                // d softplus(−z)/dz = −σ(−z)
                let z = margins[i]
                let sigmoidMinusZ = z >= 0 ? expf(-z) / (1 + expf(-z)) : 1 / (1 + expf(z))
                let dz = -sigmoidMinusZ * upstream * beta
                if policyChosen.isTracked { policyChosen.withGrad { $0[i] += dz } }
                if policyRejected.isTracked { policyRejected.withGrad { $0[i] -= dz } }
            }
        }
        return result
    }
}
