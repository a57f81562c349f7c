#if canImport(Glibc)
import Glibc
#endif

/// The per-position layers of a LLaMA block: RMSNorm, rotary embeddings, SwiGLU.
extension Tape {
    /// x / √(mean(x²) + eps) · weight over the last dimension; x [N, D], weight [D].
    public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
        let n = x.rows, d = x.columns
        precondition(weight.shape == [d], "rmsNorm: weight is \(weight.shape), need [\(d)]")
        var out = [Float](repeating: 0, count: n * d)
        var inverseRMS = [Float](repeating: 0, count: n)
        timed("rmsNorm") {
            x.value.withUnsafeBufferPointer { px in
                weight.value.withUnsafeBufferPointer { pw in
                    out.withUnsafeMutableBufferPointer { po in
                        for r in 0..<n {
                            let row = px.baseAddress! + r * d
                            var ss: Float = 0
                            for j in 0..<d { ss += row[j] * row[j] }
                            let inv = 1 / (ss / Float(d) + eps).squareRoot()
                            inverseRMS[r] = inv
                            let o = po.baseAddress! + r * d
                            for j in 0..<d { o[j] = row[j] * inv * pw[j] }
                        }
                    }
                }
            }
        }
        let result = Tensor(shape: x.shape, value: out)
        record(result, inputs: [x, weight]) { [unowned self] in
            guard !result.grad.isEmpty else { return }
            self.timed("rmsNorm.backward") {
                result.grad.withUnsafeBufferPointer { pg in
                    x.value.withUnsafeBufferPointer { px in
                        weight.value.withUnsafeBufferPointer { pw in
                            if weight.isTracked {   // dw_j += Σ_r dy·x·inv
                                weight.withGrad { gw in
                                    for r in 0..<n {
                                        let g = pg.baseAddress! + r * d, row = px.baseAddress! + r * d, inv = inverseRMS[r]
                                        for j in 0..<d { gw[j] += g[j] * row[j] * inv }
                                    }
                                }
                            }
                            guard x.isTracked else { return }
                            // dx = inv·(w∘dy) − x·inv³/D·Σ_j w_j dy_j x_j
                            x.withGrad { gx in
                                for r in 0..<n {
                                    let g = pg.baseAddress! + r * d, row = px.baseAddress! + r * d, inv = inverseRMS[r]
                                    var dot: Float = 0
                                    for j in 0..<d { dot += pw[j] * g[j] * row[j] }
                                    let c = dot * inv * inv * inv / Float(d)
                                    let dx = gx.baseAddress! + r * d
                                    for j in 0..<d { dx[j] += inv * pw[j] * g[j] - c * row[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Rotary position embedding, Hugging Face LLaMA convention: within each head of size
    /// hd, element i < hd/2 pairs with i + hd/2 (`rotate_half`) and turns by angle
    /// position·θ^(−2i/hd). x [N, heads·hd], positions [N].
    public func rope(_ x: Tensor, positions: [Int32], heads: Int, theta: Float) -> Tensor {
        let n = x.rows, width = x.columns
        precondition(positions.count == n, "rope: \(positions.count) positions for \(n) rows")
        precondition(heads > 0 && width % heads == 0 && (width / heads) % 2 == 0, "rope: width \(width) is not heads (\(heads)) × an even head size")
        let half = width / heads / 2
        let (cosines, sines) = Self.rotaryTables(positions: positions, half: half, theta: theta)
        var out = x.value
        timed("rope") {
            out.withUnsafeMutableBufferPointer { po in
                Self.rotate(po.baseAddress!, rows: n, width: width, heads: heads, half: half, cosines, sines, inverse: false)
            }
        }
        let result = Tensor(shape: x.shape, value: out)
        record(result, inputs: [x]) {
            guard !result.grad.isEmpty else { return }
            var g = result.grad
            g.withUnsafeMutableBufferPointer { pg in
                Self.rotate(pg.baseAddress!, rows: n, width: width, heads: heads, half: half, cosines, sines, inverse: true)
            }
            g.withUnsafeBufferPointer { pg in
                x.withGrad { gx in for i in gx.indices { gx[i] += pg[i] } }
            }
        }
        return result
    }

    /// cos and sin of position·inv_freq_i per row, [N, half], computed in Float32 as
    /// Hugging Face does (inv_freq = 1 / θ^(2i/hd)).
    static func rotaryTables(positions: [Int32], half: Int, theta: Float) -> ([Float], [Float]) {
        let inverseFrequencies = (0..<half).map { i in 1 / powf(theta, Float(2 * i) / Float(2 * half)) }
        var cosines = [Float](repeating: 0, count: positions.count * half)
        var sines = cosines
        for (r, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                cosines[r * half + i] = cosf(angle)
                sines[r * half + i] = sinf(angle)
            }
        }
        return (cosines, sines)
    }

    /// Rotates pairs (i, i + half) of every head in place; `inverse` turns the other way
    /// (the transpose of the rotation, which is its backward pass).
    static func rotate(_ p: UnsafeMutablePointer<Float>, rows: Int, width: Int, heads: Int, half: Int,
                       _ cosines: [Float], _ sines: [Float], inverse: Bool) {
        let sign: Float = inverse ? -1 : 1
        cosines.withUnsafeBufferPointer { pc in
            sines.withUnsafeBufferPointer { ps in
                for r in 0..<rows {
                    let c = pc.baseAddress! + r * half, s = ps.baseAddress! + r * half
                    for h in 0..<heads {
                        let x1 = p + r * width + h * 2 * half, x2 = x1 + half
                        for i in 0..<half {
                            let a = x1[i], b = x2[i], sn = sign * s[i]
                            x1[i] = a * c[i] - b * sn
                            x2[i] = b * c[i] + a * sn
                        }
                    }
                }
            }
        }
    }

    /// silu(gate)·up elementwise, silu(g) = g·σ(g).
    public func swiglu(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
        var out = [Float](repeating: 0, count: gate.count)
        // σ(gate), kept for the backward pass.
        var sigmoids = [Float](repeating: 0, count: gate.count)
        timed("swiglu") {
            gate.value.withUnsafeBufferPointer { pg in
                up.value.withUnsafeBufferPointer { pu in
                    out.withUnsafeMutableBufferPointer { po in
                        sigmoids.withUnsafeMutableBufferPointer { ps in
                            for i in po.indices {
                                let g = pg[i], s = 1 / (1 + expf(-g))
                                ps[i] = s
                                po[i] = g * s * pu[i]
                            }
                        }
                    }
                }
            }
        }
        let result = Tensor(shape: gate.shape, value: out)
        record(result, inputs: [gate, up]) { [unowned self] in
            guard !result.grad.isEmpty else { return }
            self.timed("swiglu.backward") {
                result.grad.withUnsafeBufferPointer { pd in
                  sigmoids.withUnsafeBufferPointer { ps in
                    gate.value.withUnsafeBufferPointer { pg in
                        up.value.withUnsafeBufferPointer { pu in
                            // d/dg silu(g) = σ(g)·(1 + g·(1 − σ(g))); σ computed once for both.
                            if gate === up {   // x·silu(x)
                                gate.withGrad { gx in
                                    for i in 0..<pd.count {
                                        let g = pg[i], s = ps[i]
                                        gx[i] += pd[i] * (g * s + g * s * (1 + g * (1 - s)))
                                    }
                                }
                                return
                            }
                            let needGate = gate.isTracked, needUp = up.isTracked
                            gradOrNil(gate, needGate) { gg in
                                gradOrNil(up, needUp) { gu in
                                    for i in 0..<pd.count {
                                        let g = pg[i], s = ps[i], d = pd[i]
                                        gg?[i] += d * pu[i] * s * (1 + g * (1 - s))
                                        gu?[i] += d * g * s
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
}

/// The gradient of `t` while `tracked`, else nil: lets one loop fill several gradients.
func gradOrNil(_ t: Tensor, _ tracked: Bool, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
    if tracked { t.withGrad { body($0.baseAddress!) } } else { body(nil) }
}
